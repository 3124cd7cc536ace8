/**
 * `spec.policies` of an Api: its bounds and its defaults, in one place (its normalised
 * form is in policy-spec.ts). The controller checks what it accepts with `checkPolicies` (policy-overrides.ts,
 * which adds the per method/path-prefix overrides); the runtime checks
 * what it is sent (turned back into this form from the typed messages) with the same
 * function, so a policy the controller accepts is one the runtime applies.
 */
import type { ErrorDetail } from '../errors.ts';
import { FieldChecker, showValue } from './field-checker.ts';
import { canonicalCidr, corsOriginProblem, headerNameProblem, headerValueProblem, jwksProblems, jwtAlgorithms } from './policy-values.ts';
import { httpMethods, type HttpMethod } from './resource-rules.ts';
import {
  apiKeyPlaces,
  ratePeriods,
  type ApiKeyPolicy,
  type CorsPolicy,
  type HeaderPolicy,
  type IpAccessPolicy,
  type JwtIssuer,
  type JwtPolicy,
  type PolicySpec,
  type RateKey,
  type RateLimitPolicy,
  type RatePeriod,
} from './policy-spec.ts';

export const policyRules = {
  cors: {
    maxOrigins: 64,
    maxHeaders: 64,
    allowMethods: ['GET', 'HEAD', 'POST'] as readonly HttpMethod[],
    allowCredentials: false,
    maxAgeSeconds: { min: 0, max: 86_400, default: 600 },
  },
  ipAccess: { maxEntries: 1_024 },
  maxRequestBodyBytes: { min: 1, max: 1_073_741_824 },
  jwt: {
    maxIssuers: 16,
    maxIssuerLength: 512,
    maxAudiences: 16,
    maxJwksKeys: 32,
    maxJwksUriLength: 2_048,
    maxRequiredClaims: 16,
    maxClaimValues: 32,
    maxRequiredScopes: 32,
    maxForwardClaims: 16,
    maxValueLength: 256,
    allowMissing: false,
    clockSkewSeconds: { min: 0, max: 300, default: 30 },
    algorithms: jwtAlgorithms,
  },
  rateLimit: {
    requests: { min: 1, max: 1_000_000 },
    /** Default: `requests` (a full window may be spent at once). */
    burst: { min: 1, max: 1_000_000 },
    by: 'ip',
    /** Buckets one rate limit keeps per runtime; the least recently used goes first. */
    maxKeys: 100_000,
  },
  headers: { maxEntries: 32, maxValueLength: 1_024 },
  apiKey: { in: 'header', name: 'x-api-key', maxNameLength: 128 },
} as const;

export const policyFields = ['cors', 'ipAccess', 'maxRequestBodyBytes', 'jwt', 'apiKey', 'rateLimit', 'requestHeaders', 'responseHeaders'] as const;

function headerName(c: FieldChecker, path: string, value: unknown): string {
  const name = c.string(path, value, 128);
  const rule = headerNameProblem(name);
  if (rule !== undefined && typeof value === 'string') c.fail(path, rule);
  return name.toLowerCase();
}

function cors(c: FieldChecker, path: string, raw: unknown): CorsPolicy | undefined {
  const spec = c.object(path, raw, ['allowOrigins', 'allowMethods', 'allowHeaders', 'exposeHeaders', 'allowCredentials', 'maxAgeSeconds']);
  if (spec === undefined) return undefined;
  const rules = policyRules.cors;
  const allowOrigins = c.list(`${path}.allowOrigins`, spec.allowOrigins, rules.maxOrigins, (at, v) => {
    const origin = c.string(at, v, 300);
    const rule = corsOriginProblem(origin);
    if (rule !== undefined && typeof v === 'string') c.fail(at, rule);
    return origin;
  });
  if (allowOrigins.length === 0) c.fail(`${path}.allowOrigins`, 'must list at least one origin');
  const allowCredentials = c.boolean(`${path}.allowCredentials`, spec.allowCredentials, rules.allowCredentials);
  if (allowCredentials && allowOrigins.includes('*')) c.fail(`${path}.allowOrigins`, '"*" cannot be used with allowCredentials (browsers refuse it)');
  const methods = c.list(`${path}.allowMethods`, spec.allowMethods, httpMethods.length, (at, v) => {
    if (!(httpMethods as readonly unknown[]).includes(v)) c.fail(at, `${showValue(v)} is not one of ${httpMethods.join(', ')}`);
    return v as HttpMethod;
  });
  return {
    allowOrigins,
    allowMethods: spec.allowMethods === undefined ? rules.allowMethods : methods,
    allowHeaders: c.list(`${path}.allowHeaders`, spec.allowHeaders, rules.maxHeaders, (at, v) => headerName(c, at, v)),
    exposeHeaders: c.list(`${path}.exposeHeaders`, spec.exposeHeaders, rules.maxHeaders, (at, v) => headerName(c, at, v)),
    allowCredentials,
    maxAgeSeconds: c.integer(`${path}.maxAgeSeconds`, spec.maxAgeSeconds, rules.maxAgeSeconds, rules.maxAgeSeconds.default),
  };
}

function ipAccess(c: FieldChecker, path: string, raw: unknown): IpAccessPolicy | undefined {
  const spec = c.object(path, raw, ['allow', 'deny']);
  if (spec === undefined) return undefined;
  const cidr = (at: string, v: unknown): string => {
    const text = c.string(at, v, 64);
    const result = canonicalCidr(text);
    if (!result.ok && typeof v === 'string') c.fail(at, `${showValue(v)} ${result.rule}`);
    return result.ok ? result.value : text;
  };
  const allow = c.list(`${path}.allow`, spec.allow, policyRules.ipAccess.maxEntries, cidr);
  const deny = c.list(`${path}.deny`, spec.deny, policyRules.ipAccess.maxEntries, cidr);
  const listed = (v: unknown): boolean => Array.isArray(v) && v.length > 0;
  if (!listed(spec.allow) && !listed(spec.deny)) c.fail(path, 'must list at least one address in allow or deny');
  return { allow, deny };
}

function headerPolicy(c: FieldChecker, path: string, raw: unknown): HeaderPolicy | undefined {
  const spec = c.object(path, raw, ['set', 'add', 'remove']);
  if (spec === undefined) return undefined;
  const { maxEntries, maxValueLength } = policyRules.headers;
  const entry = (at: string, key: string, v: unknown): readonly [string, string] => {
    const name = headerNameProblem(key);
    if (name !== undefined) c.fail(at, name);
    const value = c.string(at, v, maxValueLength);
    const rule = typeof v === 'string' ? headerValueProblem(value) : undefined;
    if (rule !== undefined) c.fail(at, rule);
    return [key.toLowerCase(), value];
  };
  return {
    set: c.map(`${path}.set`, spec.set, maxEntries, entry),
    add: c.map(`${path}.add`, spec.add, maxEntries, entry),
    remove: c.list(`${path}.remove`, spec.remove, maxEntries, (at, v) => headerName(c, at, v)),
  };
}

function rateLimit(c: FieldChecker, path: string, raw: unknown): RateLimitPolicy | undefined {
  const spec = c.object(path, raw, ['requests', 'per', 'by', 'burst']);
  if (spec === undefined) return undefined;
  const rules = policyRules.rateLimit;
  const requests = c.integer(`${path}.requests`, spec.requests, rules.requests);
  const per = spec.per;
  if (!(ratePeriods as readonly unknown[]).includes(per)) c.fail(`${path}.per`, per === undefined ? 'is required' : `${showValue(per)} is not one of ${ratePeriods.join(', ')}`);
  const by = c.string(`${path}.by`, spec.by, 140, rules.by);
  let key: RateKey = 'ip';
  if (by === 'ip' || by === 'api' || by === 'consumer') key = by;
  else if (by.startsWith('header:')) key = `header:${headerName(c, `${path}.by`, by.slice('header:'.length))}`;
  else c.fail(`${path}.by`, `${showValue(by)} is not ip, api, consumer or header:<name>`);
  return { requests, per: per as RatePeriod, by: key, burst: c.integer(`${path}.burst`, spec.burst, rules.burst, requests) };
}

function issuer(c: FieldChecker, path: string, raw: unknown): JwtIssuer {
  const spec = c.object(path, raw, ['issuer', 'jwksUri', 'jwks', 'audiences']) ?? {};
  const rules = policyRules.jwt;
  if (raw === undefined || spec.issuer === undefined) c.fail(`${path}.issuer`, 'is required');
  const name = c.string(`${path}.issuer`, spec.issuer ?? '', rules.maxIssuerLength);
  if (spec.issuer !== undefined && name === '') c.fail(`${path}.issuer`, 'is empty');
  const audiences = c.list(`${path}.audiences`, spec.audiences, rules.maxAudiences, (at, v) => c.string(at, v, rules.maxValueLength));
  if ((spec.jwksUri === undefined) === (spec.jwks === undefined)) {
    c.fail(path, 'must have exactly one of jwksUri and jwks');
    return { issuer: name, audiences };
  }
  if (spec.jwks !== undefined) {
    for (const [suffix, message] of jwksProblems(spec.jwks, rules.maxJwksKeys)) c.fail(`${path}.jwks${suffix}`, message);
    return { issuer: name, jwks: spec.jwks as JwtIssuer['jwks'] & object, audiences };
  }
  const uri = c.string(`${path}.jwksUri`, spec.jwksUri, rules.maxJwksUriLength);
  let url: URL | undefined;
  try {
    url = new URL(uri);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.hash !== '') {
    if (typeof spec.jwksUri === 'string') c.fail(`${path}.jwksUri`, `${showValue(uri)} is not an http(s) URL without credentials or fragment`);
  }
  return { issuer: name, jwksUri: url?.href ?? uri, audiences };
}

function issuerList(c: FieldChecker, path: string, raw: unknown): JwtIssuer[] {
  const seen = new Set<string>();
  return c.list(path, raw, policyRules.jwt.maxIssuers, (at, v) => {
    const checked = issuer(c, at, v);
    if (seen.has(checked.issuer)) c.fail(`${at}.issuer`, `${showValue(checked.issuer)} is listed twice`);
    seen.add(checked.issuer);
    return checked;
  });
}

/**
 * A Zone's `spec.issuers`: the identity providers of the zone's clients, each as in
 * `jwt.issuers` (trusted by an API whose jwt policy lists none; see docs/policies.md).
 */
export function checkZoneIssuers(raw: unknown, path = 'spec.issuers'): { readonly issuers: readonly JwtIssuer[]; readonly problems: readonly ErrorDetail[] } {
  const c = new FieldChecker();
  const issuers = issuerList(c, path, raw);
  return { issuers, problems: c.problems };
}

function jwt(c: FieldChecker, path: string, raw: unknown): JwtPolicy | undefined {
  const spec = c.object(path, raw, ['issuers', 'requiredClaims', 'requiredScopes', 'forwardClaims', 'allowMissing', 'clockSkewSeconds']);
  if (spec === undefined) return undefined;
  const rules = policyRules.jwt;
  // None listed: the runtime trusts the issuers its zones declare (Zone spec.issuers).
  const issuers = issuerList(c, `${path}.issuers`, spec.issuers);
  const claim = (at: string, key: string): string => {
    if (!/^[A-Za-z0-9_:.-]{1,64}$/.test(key)) c.fail(at, 'is not a claim name (letters, digits, _:.-, max 64)');
    return key;
  };
  const requiredClaims = c.map(`${path}.requiredClaims`, spec.requiredClaims, rules.maxRequiredClaims, (at, key, v) => {
    const values = c.list(at, v, rules.maxClaimValues, (p, value) => c.string(p, value, rules.maxValueLength));
    return [claim(at, key), values] as const;
  });
  return {
    issuers,
    requiredClaims,
    requiredScopes: c.list(`${path}.requiredScopes`, spec.requiredScopes, rules.maxRequiredScopes, (at, v) => {
      const scope = c.string(at, v, rules.maxValueLength);
      if (!/^[!#-[\]-~]+$/.test(scope)) c.fail(at, `${showValue(v)} is not a scope (printable, no spaces, quotes or backslashes)`);
      return scope;
    }),
    forwardClaims: c.map(`${path}.forwardClaims`, spec.forwardClaims, rules.maxForwardClaims, (at, key, v) => [claim(at, key), headerName(c, at, v)] as const),
    allowMissing: c.boolean(`${path}.allowMissing`, spec.allowMissing, rules.allowMissing),
    clockSkewSeconds: c.integer(`${path}.clockSkewSeconds`, spec.clockSkewSeconds, rules.clockSkewSeconds, rules.clockSkewSeconds.default),
  };
}

function apiKey(c: FieldChecker, path: string, raw: unknown): ApiKeyPolicy | undefined {
  const spec = c.object(path, raw, ['in', 'name']);
  if (spec === undefined) return undefined;
  const rules = policyRules.apiKey;
  const place = spec.in ?? rules.in;
  if (!(apiKeyPlaces as readonly unknown[]).includes(place)) c.fail(`${path}.in`, `${showValue(place)} is not one of ${apiKeyPlaces.join(', ')}`);
  if (place === 'query') {
    const name = c.string(`${path}.name`, spec.name, rules.maxNameLength, rules.name);
    if (!/^[A-Za-z0-9_.~-]+$/.test(name)) c.fail(`${path}.name`, `${showValue(name)} is not a query parameter name (letters, digits, _.~-)`);
    return { in: 'query', name };
  }
  return { in: 'header', name: spec.name === undefined ? rules.name : headerName(c, `${path}.name`, spec.name) };
}

/** Writable view of the spec while it is put together. */
type Building = { -readonly [K in keyof PolicySpec]: PolicySpec[K] };

/** Checks the policy fields of `spec` (an object whose keys were checked) one by one, filling in defaults. */
export function checkPolicyFields(c: FieldChecker, path: string, spec: Record<string, unknown>): PolicySpec {
  const policies: Building = {};
  const corsPolicy = cors(c, `${path}.cors`, spec.cors);
  if (corsPolicy !== undefined) policies.cors = corsPolicy;
  const ip = ipAccess(c, `${path}.ipAccess`, spec.ipAccess);
  if (ip !== undefined) policies.ipAccess = ip;
  if (spec.maxRequestBodyBytes !== undefined) {
    policies.maxRequestBodyBytes = c.integer(`${path}.maxRequestBodyBytes`, spec.maxRequestBodyBytes, policyRules.maxRequestBodyBytes);
  }
  const jwtPolicy = jwt(c, `${path}.jwt`, spec.jwt);
  if (jwtPolicy !== undefined) policies.jwt = jwtPolicy;
  const key = apiKey(c, `${path}.apiKey`, spec.apiKey);
  if (key !== undefined) policies.apiKey = key;
  const rate = rateLimit(c, `${path}.rateLimit`, spec.rateLimit);
  if (rate !== undefined) policies.rateLimit = rate;
  const request = headerPolicy(c, `${path}.requestHeaders`, spec.requestHeaders);
  if (request !== undefined) policies.requestHeaders = request;
  const response = headerPolicy(c, `${path}.responseHeaders`, spec.responseHeaders);
  if (response !== undefined) policies.responseHeaders = response;
  return policies;
}

/** The rules between policies a request goes through together: one way to authenticate, a consumer to count by. */
export function checkPolicyCombination(c: FieldChecker, path: string, policies: PolicySpec): void {
  if (policies.apiKey !== undefined && policies.jwt !== undefined) c.fail(`${path}.apiKey`, 'cannot be used with jwt: an API authenticates one way');
  if (policies.rateLimit?.by === 'consumer' && policies.apiKey === undefined) c.fail(`${path}.rateLimit.by`, '"consumer" needs an apiKey policy');
}
