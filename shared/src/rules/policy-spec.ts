/** The normalised form of an Api's `spec.policies`: what `checkPolicies` returns and the runtime applies. */
import type { HttpMethod } from './resource-rules.ts';

export const ratePeriods = ['second', 'minute', 'hour'] as const;
export type RatePeriod = (typeof ratePeriods)[number];
export const ratePeriodSeconds: Readonly<Record<RatePeriod, number>> = { second: 1, minute: 60, hour: 3_600 };

export interface CorsPolicy {
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly HttpMethod[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly allowCredentials: boolean;
  readonly maxAgeSeconds: number;
}

export interface IpAccessPolicy {
  /** CIDRs; empty: every address not denied. */
  readonly allow: readonly string[];
  /** CIDRs; a match is refused even when allowed. */
  readonly deny: readonly string[];
}

export interface JwtIssuer {
  readonly issuer: string;
  /** Exactly one of jwksUri and jwks is set. */
  readonly jwksUri?: string;
  readonly jwks?: { readonly keys: readonly unknown[] };
  /** Empty: any audience. */
  readonly audiences: readonly string[];
}

export interface JwtPolicy {
  readonly issuers: readonly JwtIssuer[];
  /** Claim → accepted values (a string claim equal to one, or an array claim holding one); empty: present. */
  readonly requiredClaims: Readonly<Record<string, readonly string[]>>;
  readonly requiredScopes: readonly string[];
  /** Claim → request header it is sent upstream in. */
  readonly forwardClaims: Readonly<Record<string, string>>;
  /** A request without a token passes (a token that fails still gets 401). */
  readonly allowMissing: boolean;
  readonly clockSkewSeconds: number;
}

/** What a rate limit counts by: the client address, the consumer, one header's value, or the whole API. */
export type RateKey = 'ip' | 'api' | 'consumer' | `header:${string}`;

export const apiKeyPlaces = ['header', 'query'] as const;

export interface ApiKeyPolicy {
  /** Where the key is sent: a header (name lower case) or a query parameter (name as written). */
  readonly in: (typeof apiKeyPlaces)[number];
  readonly name: string;
}

export interface RateLimitPolicy {
  readonly requests: number;
  readonly per: RatePeriod;
  readonly by: RateKey;
  readonly burst: number;
}

export interface HeaderPolicy {
  readonly set: Readonly<Record<string, string>>;
  readonly add: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
}

export interface PolicySpec {
  readonly cors?: CorsPolicy;
  readonly ipAccess?: IpAccessPolicy;
  readonly maxRequestBodyBytes?: number;
  readonly jwt?: JwtPolicy;
  readonly apiKey?: ApiKeyPolicy;
  readonly rateLimit?: RateLimitPolicy;
  readonly requestHeaders?: HeaderPolicy;
  readonly responseHeaders?: HeaderPolicy;
  /** Per method/path-prefix overrides (see policy-overrides.ts); never inside an override. */
  readonly overrides?: readonly PolicyOverride[];
}

export interface PolicyOverride {
  /** Empty: every method. */
  readonly methods: readonly HttpMethod[];
  /** Canonical, like a base path, under the API's base path; '/': every path. */
  readonly pathPrefix: string;
  /** Only the policies the override names: each replaces the API's (jwt and apiKey replace each other). */
  readonly policies: PolicySpec;
}
