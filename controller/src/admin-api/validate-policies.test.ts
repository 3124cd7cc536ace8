import { describe, expect, it } from 'vitest';
import { CausewayError } from '@causeway/shared';
import { validateDocument } from './validate.ts';

function api(policies: unknown): unknown {
  return { apiVersion: 'causeway/v1', kind: 'Api', metadata: { name: 'orders' }, spec: { basePath: '/orders', upstream: { pool: 'main' }, policies } };
}

describe('spec.policies of an Api', () => {
  it('is refused with the field path, the value and the rule, with the other problems of the document', () => {
    let error: unknown;
    try {
      validateDocument({ ...(api({ rateLimit: { requests: 10, per: 'fortnight' }, ipAccess: { deny: ['300.1.1.1'] } }) as object), kind: 'Api' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CausewayError);
    expect((error as CausewayError).details).toEqual([
      { path: 'spec.policies.ipAccess.deny[0]', message: '"300.1.1.1" is not an IP address or CIDR (like 10.0.0.0/8 or 2001:db8::/32)' },
      { path: 'spec.policies.rateLimit.per', message: '"fortnight" is not one of second, minute, hour' },
    ]);
  });

  it('is stored with its defaults filled in, and absent when not given', () => {
    const doc = validateDocument(api({ rateLimit: { requests: 10, per: 'minute' }, ipAccess: { allow: ['10.1.2.3'] } }));
    expect(doc.kind === 'Api' && 'policies' in doc.spec && doc.spec.policies).toEqual({
      rateLimit: { requests: 10, per: 'minute', by: 'ip', burst: 10 },
      ipAccess: { allow: ['10.1.2.3/32'], deny: [] },
    });
    const plain = validateDocument(api(undefined));
    expect('policies' in plain.spec).toBe(false);
  });

  it('takes per method/path-prefix overrides, refused with the field path of the override', () => {
    const doc = validateDocument(api({ overrides: [{ match: { methods: ['POST'], pathPrefix: '/admin/' }, policies: { maxRequestBodyBytes: 10 } }] }));
    expect(doc.kind === 'Api' && 'policies' in doc.spec && doc.spec.policies).toEqual({
      overrides: [{ methods: ['POST'], pathPrefix: '/admin', policies: { maxRequestBodyBytes: 10 } }],
    });
    expect(() => validateDocument(api({ overrides: [{ match: { pathPrefix: '/a/../b' }, policies: { maxRequestBodyBytes: 10 } }] }))).toThrow(
      expect.objectContaining({ details: [{ path: 'spec.policies.overrides[0].match.pathPrefix', message: "has a '.' or '..' segment (plain or percent-encoded)" }] }),
    );
  });
});
