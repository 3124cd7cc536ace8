/**
 * spec.policies ⇄ the typed `causeway.config.v1.Policies` message: the controller sends
 * what it accepted, the runtime turns what it receives back into the JSON form and checks
 * it with the same rules (checkPolicies).
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { ApiKeyIn, RatePeriod, type HeaderChanges, type JwtIssuer as JwtIssuerMessage, type JwtIssuerSchema, type Policies, type PoliciesSchema } from '../gen/causeway/config/v1/config_pb.js';
import type { HeaderPolicy, JwtIssuer, PolicySpec, RatePeriod as RatePeriodName } from './policy-spec.ts';

const periodValue: Readonly<Record<RatePeriodName, RatePeriod>> = {
  second: RatePeriod.SECOND,
  minute: RatePeriod.MINUTE,
  hour: RatePeriod.HOUR,
};
const periodName = new Map<RatePeriod, RatePeriodName>(Object.entries(periodValue).map(([k, v]) => [v, k as RatePeriodName]));

function headerChanges(policy: HeaderPolicy): MessageInitShape<typeof PoliciesSchema>['requestHeaders'] {
  return { set: { ...policy.set }, add: { ...policy.add }, remove: [...policy.remove] };
}

/** Issuers (of a jwt policy or a zone) as the messages they are sent in. */
export function issuerMessages(issuers: readonly JwtIssuer[]): MessageInitShape<typeof JwtIssuerSchema>[] {
  return issuers.map((i) => ({
    issuer: i.issuer,
    jwksUri: i.jwksUri ?? '',
    jwksJson: i.jwks === undefined ? '' : JSON.stringify(i.jwks),
    audiences: [...i.audiences],
  }));
}

/** Received issuer messages in the JSON form the rules check (`checkZoneIssuers`, `checkPolicies`). */
export function issuersSpecOf(issuers: readonly JwtIssuerMessage[]): Record<string, unknown>[] {
  return issuers.map((i) => ({
    issuer: i.issuer,
    ...(i.jwksUri !== '' && { jwksUri: i.jwksUri }),
    ...(i.jwksJson !== '' && { jwks: parsed(i.jwksJson) }),
    audiences: i.audiences,
  }));
}

/** The message a runtime is sent for accepted policies. */
export function policiesMessage(spec: PolicySpec): MessageInitShape<typeof PoliciesSchema> {
  const { cors, ipAccess, jwt, rateLimit, overrides } = spec;
  return {
    ...(overrides && { overrides: overrides.map((o) => ({ methods: [...o.methods], pathPrefix: o.pathPrefix, policies: policiesMessage(o.policies) })) }),
    ...(cors && { cors: { ...cors, allowOrigins: [...cors.allowOrigins], allowMethods: [...cors.allowMethods], allowHeaders: [...cors.allowHeaders], exposeHeaders: [...cors.exposeHeaders] } }),
    ...(ipAccess && { ipAccess: { allow: [...ipAccess.allow], deny: [...ipAccess.deny] } }),
    maxRequestBodyBytes: spec.maxRequestBodyBytes ?? 0,
    ...(jwt && {
      jwt: {
        issuers: issuerMessages(jwt.issuers),
        requiredClaims: Object.fromEntries(Object.entries(jwt.requiredClaims).map(([claim, values]) => [claim, { values: [...values] }])),
        requiredScopes: [...jwt.requiredScopes],
        forwardClaims: { ...jwt.forwardClaims },
        allowMissing: jwt.allowMissing,
        clockSkewSeconds: jwt.clockSkewSeconds,
      },
    }),
    ...(spec.apiKey && { apiKey: { in: spec.apiKey.in === 'query' ? ApiKeyIn.QUERY : ApiKeyIn.HEADER, name: spec.apiKey.name } }),
    ...(rateLimit && { rateLimit: { requests: rateLimit.requests, per: periodValue[rateLimit.per], by: rateLimit.by, burst: rateLimit.burst } }),
    ...(spec.requestHeaders && { requestHeaders: headerChanges(spec.requestHeaders) }),
    ...(spec.responseHeaders && { responseHeaders: headerChanges(spec.responseHeaders) }),
  };
}

/** JSON text as a value, or the text itself when it does not parse (the rules then refuse it). */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function headersSpec(message: HeaderChanges | undefined): object | undefined {
  return message && { set: message.set, add: message.add, remove: message.remove };
}

/**
 * A received message in the JSON form of spec.policies, every field given (the controller
 * fills in every default): checkPolicies then applies the same rules as at the controller.
 */
export function policiesSpecOf(message: Policies): Record<string, unknown> {
  const { cors, ipAccess, jwt, rateLimit } = message;
  const spec: Record<string, unknown> = {
    cors: cors && {
      allowOrigins: cors.allowOrigins,
      allowMethods: cors.allowMethods,
      allowHeaders: cors.allowHeaders,
      exposeHeaders: cors.exposeHeaders,
      allowCredentials: cors.allowCredentials,
      maxAgeSeconds: cors.maxAgeSeconds,
    },
    ipAccess: ipAccess && { allow: ipAccess.allow, deny: ipAccess.deny },
    maxRequestBodyBytes: message.maxRequestBodyBytes === 0 ? undefined : message.maxRequestBodyBytes,
    jwt: jwt && {
      issuers: issuersSpecOf(jwt.issuers),
      requiredClaims: Object.fromEntries(Object.entries(jwt.requiredClaims).map(([claim, v]) => [claim, v.values])),
      requiredScopes: jwt.requiredScopes,
      forwardClaims: jwt.forwardClaims,
      allowMissing: jwt.allowMissing,
      clockSkewSeconds: jwt.clockSkewSeconds,
    },
    apiKey: message.apiKey && {
      in: message.apiKey.in === ApiKeyIn.QUERY ? 'query' : message.apiKey.in === ApiKeyIn.HEADER ? 'header' : `unknown (${message.apiKey.in})`,
      name: message.apiKey.name,
    },
    rateLimit: rateLimit && { requests: rateLimit.requests, per: periodName.get(rateLimit.per) ?? `unknown (${rateLimit.per})`, by: rateLimit.by, burst: rateLimit.burst },
    requestHeaders: headersSpec(message.requestHeaders),
    responseHeaders: headersSpec(message.responseHeaders),
    overrides:
      message.overrides.length === 0
        ? undefined
        : message.overrides.map((o) => ({ match: { methods: o.methods, pathPrefix: o.pathPrefix }, policies: o.policies && policiesSpecOf(o.policies) })),
  };
  for (const key of Object.keys(spec)) if (spec[key] === undefined) delete spec[key];
  return spec;
}
