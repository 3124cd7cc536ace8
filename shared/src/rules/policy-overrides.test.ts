import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { PoliciesSchema } from '../gen/causeway/config/v1/config_pb.js';
import { policiesMessage, policiesSpecOf } from './policy-messages.ts';
import { checkPolicies, hasPolicy, overriddenPolicies } from './policy-overrides.ts';

function problems(raw: unknown): Record<string, string> {
  return Object.fromEntries(checkPolicies(raw).problems.map((p) => [p.path, p.message]));
}

const limit = { requests: 10, per: 'minute' };

describe('spec.policies.overrides', () => {
  it('is refused field by field, with the path of the override', () => {
    expect(
      problems({
        overrides: [
          { match: { methods: ['FETCH'], pathPrefix: '/a//b' }, policies: { rateLimit: limit } },
          { match: { pathPrefix: 'admin' }, policies: {} },
          { match: {}, policies: { overrides: [], rateLimit: { requests: 0, per: 'minute' } } },
          { policies: { rateLimit: { ...limit, by: 'consumer' } } },
          { match: { path: '/x' } },
          { match: { pathPrefix: '/admin;jsessionid=1' }, policies: { rateLimit: limit } },
        ],
      }),
    ).toEqual({
      'spec.policies.overrides[0].match.methods[0]': '"FETCH" is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
      'spec.policies.overrides[0].match.pathPrefix': "has an empty segment ('//')",
      'spec.policies.overrides[1].match.pathPrefix': "must start with '/'",
      'spec.policies.overrides[1].policies': 'names no policy',
      'spec.policies.overrides[2].policies.overrides': expect.stringContaining('unknown field') as string,
      'spec.policies.overrides[2].policies.rateLimit.requests': '0 is not a whole number from 1 to 1000000',
      'spec.policies.overrides[3].policies.rateLimit.by': '"consumer" needs an apiKey policy',
      'spec.policies.overrides[5].match.pathPrefix': "has ';': path parameters are not matched (a request's '/admin;x=1' is '/admin')",
      'spec.policies.overrides[4].match.path': expect.stringContaining('unknown field') as string,
      'spec.policies.overrides[4].policies': 'is required',
    });
    const many = Array.from({ length: 33 }, (_, i) => ({ match: { pathPrefix: `/p${i}` }, policies: { rateLimit: limit } }));
    expect(problems({ overrides: many })).toEqual({ 'spec.policies.overrides': 'has 33 items; at most 32 are allowed' });
  });

  it('is stored with canonical prefixes and defaults filled in, and goes over the typed messages unchanged', () => {
    const { policies, problems: found } = checkPolicies({
      cors: { allowOrigins: ['*'] },
      overrides: [{ match: { methods: ['POST'], pathPrefix: '/%61dmin/' }, policies: { rateLimit: limit } }, { match: {}, policies: { maxRequestBodyBytes: 10 } }],
    });
    expect(found).toEqual([]);
    expect(policies.overrides).toEqual([
      { methods: ['POST'], pathPrefix: '/admin', policies: { rateLimit: { ...limit, by: 'ip', burst: 10 } } },
      { methods: [], pathPrefix: '/', policies: { maxRequestBodyBytes: 10 } },
    ]);
    const received = policiesSpecOf(create(PoliciesSchema, policiesMessage(policies)));
    expect(checkPolicies(received, 'policies')).toEqual({ policies, problems: [] });
  });

  it('replaces each policy an override names, whole; jwt and apiKey replace each other', () => {
    const base = checkPolicies({ apiKey: {}, rateLimit: { ...limit, by: 'consumer' }, responseHeaders: { set: { 'x-a': '1' } } }).policies;
    const jwt = { issuers: [{ issuer: 'https://idp', jwksUri: 'https://idp/keys' }] };
    // The API counts by consumer, which a JWT override would leave without a consumer.
    expect(problems({ ...base, overrides: [{ policies: { jwt } }] })).toEqual({ 'spec.policies.overrides[0].policies.rateLimit.by': '"consumer" needs an apiKey policy' });
    const { policies, problems: found } = checkPolicies({ ...base, overrides: [{ policies: { jwt, rateLimit: limit } }] });
    expect(found).toEqual([]);
    const merged = overriddenPolicies(policies, policies.overrides?.[0]?.policies ?? {});
    expect(Object.keys(merged).sort()).toEqual(['jwt', 'rateLimit', 'responseHeaders']);
    expect(merged.rateLimit?.by).toBe('ip');
    expect(hasPolicy(policies, 'jwt')).toBe(true);
    expect(hasPolicy(base, 'jwt')).toBe(false);
  });
});
