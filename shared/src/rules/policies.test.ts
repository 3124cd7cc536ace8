import { generateKeyPairSync } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { PoliciesSchema } from '../gen/causeway/config/v1/config_pb.js';
import { checkZoneIssuers } from './policies.ts';
import type { PolicySpec } from './policy-spec.ts';
import { policiesMessage, policiesSpecOf } from './policy-messages.ts';
import { checkPolicies } from './policy-overrides.ts';

function problems(raw: unknown): Record<string, string> {
  return Object.fromEntries(checkPolicies(raw).problems.map((p) => [p.path, p.message]));
}

const rsaKey = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256' };
const edKey = { ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }), kid: 'k2' };

describe('policy rules', () => {
  it('names the field, the value and the rule of every bad entry', () => {
    expect(
      problems({
        ipAccess: { allow: ['10.0.0.0/33', 'not-an-ip'] },
        rateLimit: { requests: 0, per: 'day', by: 'consumer' },
        requestHeaders: { set: { Host: 'x', 'x-user': '${jwt.sub} ${password}' }, remove: ['transfer-encoding'] },
        cors: { allowOrigins: ['*'], allowCredentials: true },
        maxRequestBodyBytes: -1,
        oauth: {},
      }),
    ).toEqual({
      'spec.policies.oauth': expect.stringContaining('unknown field'),
      'spec.policies.ipAccess.allow[0]': '"10.0.0.0/33" is not an IP address or CIDR (like 10.0.0.0/8 or 2001:db8::/32)',
      'spec.policies.ipAccess.allow[1]': expect.stringContaining('"not-an-ip" is not an IP address'),
      'spec.policies.rateLimit.requests': '0 is not a whole number from 1 to 1000000',
      'spec.policies.rateLimit.per': '"day" is not one of second, minute, hour',
      'spec.policies.rateLimit.by': '"consumer" needs an apiKey policy',
      'spec.policies.requestHeaders.set.Host': expect.stringContaining('"Host" is a header the runtime owns'),
      'spec.policies.requestHeaders.set.x-user': expect.stringContaining('uses ${password}'),
      'spec.policies.requestHeaders.remove[0]': expect.stringContaining('"transfer-encoding" is a header the runtime owns'),
      'spec.policies.cors.allowOrigins': '"*" cannot be used with allowCredentials (browsers refuse it)',
      'spec.policies.maxRequestBodyBytes': '-1 is not a whole number from 1 to 1073741824',
    });
  });

  it('refuses JWT issuers a runtime could not verify tokens of', () => {
    const hmac = { kty: 'oct', k: 'c2VjcmV0', kid: 'h' };
    const weak = { ...generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }), kid: 'w' };
    expect(
      problems({
        jwt: {
          issuers: [
            { issuer: 'https://a', jwks: { keys: [hmac, weak, { ...rsaKey, n: 'AAAA' }, { ...rsaKey, alg: 'HS256' }] } },
            { issuer: 'https://b', jwksUri: 'ftp://keys', jwks: { keys: [] } },
            { issuer: 'https://c', jwksUri: 'ftp://keys' },
            { issuer: 'https://d', jwksUri: 'https://idp/keys' },
            { issuer: 'https://d', jwksUri: 'https://idp/keys' },
          ],
        },
      }),
    ).toEqual({
      'spec.policies.jwt.issuers[0].jwks.keys[0]': 'kty "oct" is not RSA, EC or OKP (symmetric keys are refused)',
      'spec.policies.jwt.issuers[0].jwks.keys[1]': 'is an RSA key shorter than 2048 bits',
      'spec.policies.jwt.issuers[0].jwks.keys[2]': expect.stringMatching(/not a valid public key|shorter than 2048/),
      'spec.policies.jwt.issuers[0].jwks.keys[3]': 'alg "HS256" is not one of RS256, ES256, EdDSA',
      'spec.policies.jwt.issuers[1]': 'must have exactly one of jwksUri and jwks',
      'spec.policies.jwt.issuers[2].jwksUri': '"ftp://keys" is not an http(s) URL without credentials or fragment',
      'spec.policies.jwt.issuers[4].issuer': '"https://d" is listed twice',
    });
  });

  it('fills in the defaults, in one place', () => {
    const { policies, problems: found } = checkPolicies({
      cors: { allowOrigins: ['https://*.example.com'] },
      rateLimit: { requests: 10, per: 'minute' },
      jwt: { issuers: [{ issuer: 'https://idp', jwksUri: 'https://idp/keys' }] },
      requestHeaders: { set: { 'X-User': '${jwt.sub}' } },
    });
    expect(found).toEqual([]);
    expect(policies).toEqual({
      cors: { allowOrigins: ['https://*.example.com'], allowMethods: ['GET', 'HEAD', 'POST'], allowHeaders: [], exposeHeaders: [], allowCredentials: false, maxAgeSeconds: 600 },
      rateLimit: { requests: 10, per: 'minute', by: 'ip', burst: 10 },
      jwt: {
        issuers: [{ issuer: 'https://idp', jwksUri: 'https://idp/keys', audiences: [] }],
        requiredClaims: {},
        requiredScopes: [],
        forwardClaims: {},
        allowMissing: false,
        clockSkewSeconds: 30,
      },
      requestHeaders: { set: { 'x-user': '${jwt.sub}' }, add: {}, remove: [] },
    });
  });

  it('gives back, from the message a runtime receives, exactly what the controller accepted', () => {
    const accepted = checkPolicies({
      cors: { allowOrigins: ['https://app.example.com'], allowMethods: ['GET', 'PUT'], allowHeaders: ['authorization'], allowCredentials: true, maxAgeSeconds: 0 },
      ipAccess: { allow: ['10.0.0.0/8', '::1'], deny: ['10.1.0.0/16'] },
      maxRequestBodyBytes: 1024,
      jwt: {
        issuers: [
          { issuer: 'https://idp-a', jwks: { keys: [rsaKey, edKey] }, audiences: ['orders'] },
          { issuer: 'https://idp-b', jwksUri: 'https://idp-b/keys' },
        ],
        requiredClaims: { tenant: ['acme'], email_verified: [] },
        requiredScopes: ['orders:read'],
        forwardClaims: { sub: 'x-consumer-id' },
        allowMissing: true,
      },
      rateLimit: { requests: 5, per: 'second', by: 'header:X-Api-Client', burst: 20 },
      requestHeaders: { add: { 'x-req': '${requestId}' }, remove: ['cookie'] },
      responseHeaders: { set: { 'x-frame-options': 'DENY' } },
    });
    expect(accepted.problems).toEqual([]);
    const received = policiesSpecOf(create(PoliciesSchema, policiesMessage(accepted.policies)));
    const applied = checkPolicies(received);
    expect(applied.problems).toEqual([]);
    expect(applied.policies).toEqual<PolicySpec>(accepted.policies);
  });

  it('takes an API key in a header or the query, alone as authentication, and round-trips it', () => {
    expect(checkPolicies({ apiKey: {}, rateLimit: { requests: 5, per: 'second', by: 'consumer' } }).policies).toMatchObject({
      apiKey: { in: 'header', name: 'x-api-key' },
      rateLimit: { by: 'consumer' },
    });
    expect(checkPolicies({ apiKey: { in: 'header', name: 'X-Key' } }).policies.apiKey).toEqual({ in: 'header', name: 'x-key' });
    expect(problems({ apiKey: { in: 'cookie', name: 'a b' }, jwt: { issuers: [] } })).toEqual({
      'spec.policies.apiKey.in': '"cookie" is not one of header, query',
      'spec.policies.apiKey.name': expect.stringContaining('"a b"'),
      'spec.policies.apiKey': 'cannot be used with jwt: an API authenticates one way',
    });
    expect(problems({ apiKey: { in: 'query', name: 'a b' } })).toEqual({ 'spec.policies.apiKey.name': '"a b" is not a query parameter name (letters, digits, _.~-)' });
    const accepted = checkPolicies({ apiKey: { in: 'query', name: 'api_key' } });
    const applied = checkPolicies(policiesSpecOf(create(PoliciesSchema, policiesMessage(accepted.policies))));
    expect(applied).toEqual(accepted);
  });

  it('takes a jwt policy without issuers (the zones\' are trusted), and checks zone issuers with the same rules', () => {
    expect(checkPolicies({ jwt: {} }).problems).toEqual([]);
    expect(checkZoneIssuers([{ issuer: 'https://idp', jwksUri: 'https://idp/keys' }]).issuers).toEqual([{ issuer: 'https://idp', jwksUri: 'https://idp/keys', audiences: [] }]);
    expect(checkZoneIssuers([{ issuer: 'https://idp', jwksUri: 'https://idp/keys' }, { issuer: 'https://idp', jwks: { keys: [rsaKey] } }]).problems).toEqual([
      { path: 'spec.issuers[1].issuer', message: '"https://idp" is listed twice' },
    ]);
  });

  it('refuses, at the runtime, a message whose JWKS does not parse or whose rate period is unknown', () => {
    const message = create(PoliciesSchema, {
      jwt: { issuers: [{ issuer: 'https://idp', jwksJson: '{"keys": [' }], clockSkewSeconds: 30 },
      rateLimit: { requests: 1, burst: 1, by: 'ip' },
    });
    expect(problems(policiesSpecOf(message))).toEqual({
      'spec.policies.jwt.issuers[0].jwks': expect.stringContaining('is not a JSON Web Key Set'),
      'spec.policies.rateLimit.per': '"unknown (0)" is not one of second, minute, hour',
    });
  });
});
