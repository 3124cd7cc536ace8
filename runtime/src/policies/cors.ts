import type { CorsPolicy } from '@causeway/shared';

/** A preflight's answer: allowed (with the headers of a 204) or refused. */
export type PreflightAnswer = { readonly allowed: true; readonly headers: readonly string[] } | { readonly allowed: false; readonly reason: 'origin' | 'method'; readonly message: string };

/**
 * A CORS policy ready to match origins: exact ones in a set, `scheme://*.domain[:port]`
 * as a scheme, a suffix and a port, `*` as any. The runtime answers preflights itself and
 * adds the CORS headers to the responses of allowed origins.
 */
export class Cors {
  private readonly exact: ReadonlySet<string>;
  private readonly patterns: readonly { readonly scheme: string; readonly suffix: string; readonly port: string }[];
  private readonly any: boolean;
  private readonly methods: string;
  private readonly allowHeaders: string;
  private readonly exposeHeaders: string;
  private readonly policy: CorsPolicy;

  constructor(policy: CorsPolicy) {
    this.policy = policy;
    this.any = policy.allowOrigins.includes('*');
    this.exact = new Set(policy.allowOrigins.filter((o) => o !== '*' && !o.includes('://*.')));
    this.patterns = policy.allowOrigins
      .filter((o) => o.includes('://*.'))
      .map((o) => {
        const [scheme = '', rest = ''] = o.split('://*');
        const colon = rest.lastIndexOf(':');
        return colon === -1 ? { scheme, suffix: rest, port: '' } : { scheme, suffix: rest.slice(0, colon), port: rest.slice(colon) };
      });
    this.methods = policy.allowMethods.join(', ');
    this.allowHeaders = policy.allowHeaders.join(', ');
    this.exposeHeaders = policy.exposeHeaders.join(', ');
  }

  allows(origin: string): boolean {
    if (this.any || this.exact.has(origin)) return true;
    for (const p of this.patterns) {
      const schemeEnd = origin.indexOf('://');
      if (origin.slice(0, schemeEnd) !== p.scheme) continue;
      const authority = origin.slice(schemeEnd + 3);
      const colon = authority.lastIndexOf(':');
      const host = colon === -1 ? authority : authority.slice(0, colon);
      const port = colon === -1 ? '' : authority.slice(colon);
      // A subdomain of the suffix only ("*.example.com" does not match "example.com").
      if (port === p.port && host.length > p.suffix.length && host.endsWith(p.suffix)) return true;
    }
    return false;
  }

  /** The allow-origin value for an allowed origin: itself, or `*` for any origin without credentials. */
  private allowOrigin(origin: string): string {
    return this.any && !this.policy.allowCredentials ? '*' : origin;
  }

  /** Answers an `OPTIONS` with `Origin` and `Access-Control-Request-Method`. */
  preflight(origin: string, method: string): PreflightAnswer {
    if (!this.allows(origin)) return { allowed: false, reason: 'origin', message: `the origin ${origin} is not allowed` };
    if (!(this.policy.allowMethods as readonly string[]).includes(method)) return { allowed: false, reason: 'method', message: `the method ${method} is not allowed for cross-origin requests` };
    const headers = ['access-control-allow-origin', this.allowOrigin(origin), 'access-control-allow-methods', this.methods];
    if (this.allowHeaders !== '') headers.push('access-control-allow-headers', this.allowHeaders);
    if (this.policy.allowCredentials) headers.push('access-control-allow-credentials', 'true');
    headers.push('access-control-max-age', String(this.policy.maxAgeSeconds), 'vary', 'origin, access-control-request-method, access-control-request-headers');
    return { allowed: true, headers };
  }

  /** Adds the headers of an actual cross-origin request's response (any status) to a flat list. */
  decorate(out: string[], origin: string | undefined): void {
    out.push('vary', 'origin');
    if (origin === undefined || !this.allows(origin)) return;
    out.push('access-control-allow-origin', this.allowOrigin(origin));
    if (this.policy.allowCredentials) out.push('access-control-allow-credentials', 'true');
    if (this.exposeHeaders !== '') out.push('access-control-expose-headers', this.exposeHeaders);
  }
}
