import type { IncomingHttpHeaders } from 'node:http';
import { overriddenPolicies, policyRules, type ErrorCode, type PolicyOverride, type PolicySpec } from '@causeway/shared';
import { ApiKeyAuth, withoutParameter, type ConsumerKeys } from './api-key-auth.ts';
import { Cors } from './cors.ts';
import { HeaderRules, type TemplateValues } from './header-rules.ts';
import { IpAccess } from './ip-access.ts';
import type { KeySets } from './issuer-keys.ts';
import { OverrideMatch, pathSegments } from './override-match.ts';
import { JwtAuth, type AuthResult } from './jwt-auth.ts';
import type { Denial } from './policy-metrics.ts';
import { RateLimiter, sameRateLimit, type RateDecision } from './rate-limiter.ts';

/** What building an API's policy chain needs besides its policies. */
export interface PolicyContext {
  readonly keySets: KeySets;
  /** The chain of the API's version being replaced: its rate-limit buckets stay if the limit is unchanged. */
  readonly previous: PolicyChain | undefined;
  /** The org's consumers and their key digests (for an `apiKey` policy). */
  readonly consumers: readonly ConsumerKeys[];
  /** The API's base path, which override path prefixes are under. */
  readonly basePath: string;
}

/** An override's chain: the API's, whose stateful parts (JWT key and token caches, rate-limit buckets) it shares unless it names them. */
interface Inherited {
  readonly chain: PolicyChain;
  readonly named: PolicySpec;
}

/** One override, ready: where it applies and the chain its requests go through. */
interface Override {
  readonly match: OverrideMatch;
  readonly chain: PolicyChain;
}

/** What the chain reads of a request. */
export interface PolicyInput {
  readonly method: string;
  /** The request path as the client sent it, without the query. */
  readonly path: string;
  /** The connection's remote address. */
  readonly clientIp: string;
  /** -1 without Content-Length. */
  readonly contentLength: number;
  readonly headers: IncomingHttpHeaders;
  /** `?...` or '', as the client sent it. */
  readonly query: string;
  readonly requestId: string;
  /** Wall clock, ms. */
  readonly now: number;
}

/** The runtime answers: a refusal (JSON error body) or a preflight (204), each with its headers. */
export type PolicyAnswer =
  | { readonly kind: 'refuse'; readonly code: ErrorCode; readonly message: string; readonly headers: readonly string[]; readonly denial: Denial }
  | { readonly kind: 'preflight'; readonly headers: readonly string[] };

export type Verdict = PolicyAnswer | { readonly kind: 'pass'; readonly admitted: Admitted };

/** Who the authentication step found: the token's claims, the consumer of the key ('' for none). */
interface Authenticated {
  readonly claims: TemplateValues['claims'];
  readonly consumer: string;
}

const anonymous: Authenticated = { claims: undefined, consumer: '' };
/** The header a consumer's name is forwarded in (a client's own is dropped). */
const CONSUMER_HEADER = 'x-consumer';

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function rateHeaders(decision: RateDecision): string[] {
  return ['ratelimit-limit', String(decision.limit), 'ratelimit-remaining', String(decision.remaining), 'ratelimit-reset', String(decision.resetSeconds)];
}

/** A request the chain let through: what it changes on the way up and on the way back. */
export class Admitted {
  private readonly values: TemplateValues;
  private readonly chain: PolicyChain;
  private readonly origin: string | undefined;
  private readonly rate: RateDecision | undefined;

  /** The query sent to members: without the API key when it came in the query (a DTC URL gets it, to check it again). */
  readonly upstreamQuery: string | undefined;

  constructor(chain: PolicyChain, auth: Authenticated, input: PolicyInput, origin: string | undefined, rate: RateDecision | undefined) {
    this.chain = chain;
    this.origin = origin;
    this.rate = rate;
    this.values = { requestId: input.requestId, claims: auth.claims, consumer: auth.consumer };
    const keyParam = chain.apiKey?.policy.in === 'query' ? chain.apiKey.policy.name : undefined;
    this.upstreamQuery = keyParam === undefined ? undefined : withoutParameter(input.query, keyParam);
  }

  /** The API's own body limit (0: none), which a smaller runtime-wide one still caps. */
  get maxBodyBytes(): number {
    return this.chain.maxBodyBytes;
  }

  /** The headers sent upstream, from those the proxy would send. */
  forward(headers: string[]): string[] {
    return this.chain.requestRules.empty ? headers : this.chain.requestRules.apply(headers, this.values);
  }

  /** The response headers sent to the client, from those the proxy would send. */
  decorate(headers: string[]): string[] {
    const out = this.chain.responseRules.empty ? headers : this.chain.responseRules.apply(headers, this.values);
    return this.withOwnHeaders(out);
  }

  /**
   * The headers of the runtime's own error answer (502, 503, 504, a streamed 413): CORS and
   * RateLimit-* only, like a refusal. `responseHeaders` shape the upstream's answers; applied
   * here, a `set` of content-type would make a second one beside the JSON error body's.
   */
  errorHeaders(): string[] {
    return this.withOwnHeaders([]);
  }

  private withOwnHeaders(out: string[]): string[] {
    this.chain.cors?.decorate(out, this.origin);
    if (this.rate !== undefined) out.push(...rateHeaders(this.rate));
    return out;
  }
}

/**
 * An API's policies, built once per config change, applied to each request in a fixed
 * order: CORS preflight → IP access → body size → authentication (JWT or API key)
 * → rate limit; a request that passes gets its request headers changed on the way up,
 * its response headers and CORS headers on the way back. Only authentication waits
 * (for keys); the rest decides synchronously.
 */
export class PolicyChain {
  readonly spec: PolicySpec;
  readonly cors: Cors | undefined;
  private readonly ip: IpAccess | undefined;
  readonly maxBodyBytes: number;
  readonly jwt: JwtAuth | undefined;
  readonly apiKey: ApiKeyAuth | undefined;
  readonly limiter: RateLimiter | undefined;
  readonly requestRules: HeaderRules;
  readonly responseRules: HeaderRules;
  /** In order: the first that matches a request decides its chain. */
  readonly overrides: readonly Override[];
  /** Segments of the base path, skipped before an override's path prefix is compared. */
  private readonly baseDepth: number;

  constructor(spec: PolicySpec, ctx: PolicyContext, inherited?: Inherited) {
    this.spec = spec;
    this.cors = spec.cors && new Cors(spec.cors);
    this.ip = spec.ipAccess && new IpAccess(spec.ipAccess);
    this.maxBodyBytes = spec.maxRequestBodyBytes ?? 0;
    const ownJwt = inherited === undefined || inherited.named.jwt !== undefined;
    this.jwt = spec.jwt && (ownJwt ? new JwtAuth(spec.jwt, ctx.keySets) : inherited.chain.jwt);
    this.apiKey = spec.apiKey && new ApiKeyAuth(spec.apiKey, ctx.consumers);
    const previous = ctx.previous?.limiter;
    const rate = spec.rateLimit;
    const fresh = (): RateLimiter | undefined =>
      rate && (previous !== undefined && sameRateLimit(previous.settings, rate) ? previous : new RateLimiter(rate, policyRules.rateLimit.maxKeys));
    this.limiter = inherited === undefined || inherited.named.rateLimit !== undefined ? fresh() : inherited.chain.limiter;
    const forwarded = Object.entries(spec.jwt?.forwardClaims ?? {});
    const requestSet = {
      ...spec.requestHeaders?.set,
      ...Object.fromEntries(forwarded.map(([claim, header]) => [header, `\${jwt.${claim}}`])),
      ...(spec.apiKey && { [CONSUMER_HEADER]: '${consumer}' }),
    };
    this.requestRules = new HeaderRules({ add: spec.requestHeaders?.add ?? {}, remove: spec.requestHeaders?.remove ?? [], set: requestSet });
    this.responseRules = new HeaderRules(spec.responseHeaders);
    this.baseDepth = pathSegments(ctx.basePath).length;
    this.overrides = (spec.overrides ?? []).map((o, i) => this.override(o, ctx, ctx.previous?.overrides[i]));
  }

  private override(override: PolicyOverride, ctx: PolicyContext, previous: Override | undefined): Override {
    const match = new OverrideMatch(override);
    // Buckets carry over from the same override's own limit, never from one it inherited.
    const ownBuckets = previous !== undefined && previous.match.same(match) && previous.chain.limiter !== ctx.previous?.limiter;
    const previousChain = ownBuckets ? previous.chain : undefined;
    const chain = new PolicyChain(overriddenPolicies(this.spec, override.policies), { ...ctx, previous: previousChain }, { chain: this, named: override.policies });
    return { match, chain };
  }

  /**
   * The chain of a request: the first override that matches it (for a CORS preflight,
   * with the method it announces), else this one.
   */
  private select(method: string, path: string): PolicyChain {
    if (this.overrides.length === 0) return this;
    const segments = pathSegments(path);
    for (const { match, chain } of this.overrides) if (match.matches(method, segments, this.baseDepth)) return chain;
    return this;
  }

  /** Whether the chain a request with this method and path would take answers CORS preflights. */
  hasCors(method: string, path: string): boolean {
    return this.select(method, path).cors !== undefined;
  }

  evaluate(input: PolicyInput): Verdict | Promise<Verdict> {
    if (this.overrides.length === 0) return this.check(input);
    const announced = input.method === 'OPTIONS' && input.headers.origin !== undefined ? single(input.headers['access-control-request-method']) : undefined;
    return this.select(announced ?? input.method, input.path).check(input);
  }

  private check(input: PolicyInput): Verdict | Promise<Verdict> {
    const origin = this.cors === undefined ? undefined : single(input.headers.origin);
    if (this.cors !== undefined && origin !== undefined && input.method === 'OPTIONS') {
      const requested = single(input.headers['access-control-request-method']);
      if (requested !== undefined) {
        const answer = this.cors.preflight(origin, requested);
        return answer.allowed ? { kind: 'preflight', headers: answer.headers } : this.refuse('permission_denied', answer.message, origin, { policy: 'cors', reason: answer.reason });
      }
    }
    if (this.ip !== undefined && !this.ip.admits(input.clientIp)) return this.refuse('permission_denied', 'the client address is not allowed', origin, { policy: 'ip', reason: 'address' });
    if (this.maxBodyBytes > 0 && input.contentLength > this.maxBodyBytes) {
      return this.refuse('payload_too_large', `the request body is larger than ${this.maxBodyBytes} bytes`, origin, { policy: 'body_size', reason: 'too_large' });
    }
    if (this.apiKey !== undefined) {
      const result = this.apiKey.check(this.apiKey.keyOf(input.headers[this.apiKey.policy.name], input.query));
      if (!result.ok) return this.refuse('unauthenticated', result.message, origin, { policy: 'api_key', reason: result.reason }, ['www-authenticate', result.challenge]);
      return this.limit(input, origin, { claims: undefined, consumer: result.consumer });
    }
    if (this.jwt === undefined) return this.limit(input, origin, anonymous);
    return this.jwt.check(single(input.headers.authorization)).then((result) => this.afterAuth(result, input, origin));
  }

  private afterAuth(result: AuthResult, input: PolicyInput, origin: string | undefined): Verdict {
    if (result.ok) return this.limit(input, origin, { claims: result.claims, consumer: '' });
    const { refusal } = result;
    const denial: Denial = { policy: 'jwt', reason: refusal.reason };
    return this.refuse(refusal.status === 401 ? 'unauthenticated' : 'permission_denied', refusal.message, origin, denial, ['www-authenticate', refusal.challenge]);
  }

  private limit(input: PolicyInput, origin: string | undefined, auth: Authenticated): Verdict {
    const limiter = this.limiter;
    let decision: RateDecision | undefined;
    if (limiter !== undefined) {
      const by = limiter.settings.by;
      const key = by === 'ip' ? input.clientIp : by === 'api' ? '' : by === 'consumer' ? auth.consumer : (single(input.headers[by.slice('header:'.length)]) ?? '');
      decision = limiter.take(key, input.now);
      if (!decision.allowed) {
        const headers = [...rateHeaders(decision), 'retry-after', String(decision.retryAfterSeconds)];
        const message = `the rate limit of ${limiter.settings.requests} per ${limiter.settings.per} is spent`;
        return this.refuse('too_many_requests', message, origin, { policy: 'rate_limit', reason: 'spent' }, headers);
      }
    }
    return { kind: 'pass', admitted: new Admitted(this, auth, input, origin, decision) };
  }

  private refuse(code: ErrorCode, message: string, origin: string | undefined, denial: Denial, headers: string[] = []): PolicyAnswer {
    this.cors?.decorate(headers, origin);
    return { kind: 'refuse', code, message, headers, denial };
  }
}
