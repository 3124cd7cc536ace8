import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CausewayError, isSlug, slugRule } from '@causeway/shared';
import { allows, builtInRoles, describeNeed, isBuiltInRole, type Action, type Need, type Permission, type Subject } from '../access/permissions.ts';
import { SourceLimiter } from '../access/source-limiter.ts';
import { claimedId, digestOf, matches } from '../access/token-secrets.ts';
import type { AccessModel, TokenRecord } from '../store/access-tables.ts';
import type { Actor, AuditContext } from '../store/mutate.ts';
import type { Scope } from '../store/resource-store.ts';
import { sendError } from './error-replies.ts';

/**
 * What a route needs: a permission, any one of several actions on a subject (a PUT that
 * creates or replaces: its handler decides which one the request needs once it knows), or
 * `kind` (the same for the kind its `:plural` names, for the routes every kind shares), a
 * system administrator, a gateway's own heartbeat, or only a valid token.
 */
export type RouteNeed =
  | Need
  | { readonly subject: Subject; readonly anyOf: readonly Action[] }
  | { readonly kind: Action | readonly Action[] }
  | 'system-admin'
  | 'gateway-heartbeat'
  | 'authenticated';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without a token. Every other route must say what it needs. */
    readonly public?: boolean;
    readonly need?: RouteNeed;
  }
  interface FastifyRequest {
    principal: Principal;
    scope: Scope;
  }
}

/** Who made a request, and what they may do. */
export interface Principal {
  /** The org the request acts in. */
  readonly org: string;
  readonly actor: Actor;
  /** `bootstrap`, a role name, or `gateway`. */
  readonly role: string;
  readonly permissions: readonly Permission[];
  /** The bootstrap token: manages orgs and zones, may act in any org. */
  readonly systemAdmin: boolean;
  /** A heartbeat token: the one gateway it may report for. */
  readonly gateway: string | undefined;
}

/** Route options of what anyone may read: health, readiness, metrics, the OpenAPI document. */
export const publicRoute = { config: { public: true } } as const;

export function needs(need: RouteNeed): { config: { need: RouteNeed } } {
  return { config: { need } };
}

const ORG_HEADER = 'causeway-org';
const bearer = /^bearer +(\S+) *$/i;

/** Subjects of the routes every kind shares, by their `:plural`. */
const subjectOfPlural: Readonly<Record<string, Subject>> = { apis: 'apis', consumers: 'consumers', gateways: 'gateways', 'gateway-pools': 'gateway-pools', zones: 'zones' };

export interface AccessOptions {
  readonly bootstrapToken: string;
  readonly controllerId: string;
  /** Failed authentications one source address may make a second (twice that in a burst) before 429. */
  readonly authFailuresPerSecond: number;
  /** Orgs, roles and live tokens, as this replica's model holds them. */
  access(): AccessModel;
  /** A token was used (its last use is recorded later, in batches). */
  used(token: TokenRecord): void;
  /** A failed authentication or a denial worth an audit event (already limited per source). */
  refused(org: string, context: AuditContext, outcome: 'denied' | 'unauthenticated', detail: string): void;
  readonly counters: { unauthenticated(): void; denied(): void; throttled(): void };
}

function principalOf(token: TokenRecord, access: AccessModel): Principal {
  const actor: Actor = { kind: token.gateway === null ? 'token' : 'gateway', id: token.id, name: token.name };
  if (token.gateway !== null) return { org: token.org, actor, role: 'gateway', permissions: [], systemAdmin: false, gateway: token.gateway };
  const role = token.role ?? '';
  const permissions = isBuiltInRole(role) ? builtInRoles[role] : (access.roles.get(`${token.org}/${role}`)?.permissions ?? []);
  return { org: token.org, actor, role, permissions, systemAdmin: false, gateway: undefined };
}

type Authentication = { readonly principal: Principal } | { readonly failure: string };

/**
 * The one access decision, an onRequest hook: by the options of the route fastify matched
 * (after percent-decoding), never by the URL string. Who: the bootstrap token, or an org
 * token (looked up by the id it carries, compared in constant time, refused once revoked
 * or expired). What: the permission the route declares. Failed authentications are
 * slowed per source address (429 with Retry-After past CAUSEWAY_ADMIN_AUTH_FAILURES_PER_SECOND).
 */
export class AdminAccess {
  private readonly options: AccessOptions;
  private readonly bootstrapDigest: Buffer;
  private readonly failures: SourceLimiter;
  /** At most one audit event a source may leave every 10 s for its refusals, so a flood cannot fill the table. */
  private readonly refusalEvents = new SourceLimiter({ perSecond: 0.1, burst: 3, maxSources: 10_000 });

  constructor(options: AccessOptions) {
    this.options = options;
    this.bootstrapDigest = digestOf(options.bootstrapToken);
    const perSecond = options.authFailuresPerSecond;
    this.failures = new SourceLimiter({ perSecond, burst: perSecond * 2, maxSources: 10_000 });
  }

  readonly onRequest = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (request.routeOptions.config.public === true) return undefined;
    const source = request.ip;
    if (!this.failures.has(source)) return this.throttle(reply, this.failures.take(source));
    const authenticated = this.authenticate(request);
    if ('failure' in authenticated) return this.unauthenticated(request, reply, authenticated.failure);
    const { principal } = authenticated;
    request.principal = principal;
    request.scope = { org: principal.org, audit: this.auditContext(request, principal.actor) };
    const refusal = this.authorize(request, principal);
    if (refusal === undefined) return undefined;
    this.options.counters.denied();
    this.record(principal.org, request, principal.actor, 'denied', refusal.message);
    return sendError(reply, refusal);
  };

  /** Whether the request carries a valid token (for refusals answered before routing). */
  authenticated(request: FastifyRequest): boolean {
    return 'principal' in this.authenticate(request);
  }

  /**
   * For an answer that outlives its request (an event stream): whether what let the request
   * in still holds, its token neither revoked nor expired and its role still allowing the
   * route; the refusal otherwise.
   */
  readonly stillAllowed = (request: FastifyRequest): CausewayError | undefined => {
    const authenticated = this.authenticate(request, false);
    if ('failure' in authenticated) return new CausewayError('unauthenticated', `the token this request was made with is no longer valid (${authenticated.failure})`);
    return this.authorize(request, authenticated.principal);
  };

  refuse(reply: FastifyReply): FastifyReply {
    reply.header('www-authenticate', 'Bearer realm="causeway"');
    return sendError(reply, new CausewayError('unauthenticated', 'a valid bearer token is required (Authorization: Bearer <token>)'));
  }

  /** `recordUse`: count this as a use of the token (a request; not a check of a request already let in). */
  private authenticate(request: FastifyRequest, recordUse = true): Authentication {
    const secret = bearer.exec(request.headers.authorization ?? '')?.[1];
    if (secret === undefined) return { failure: 'no bearer token' };
    const access = this.options.access();
    const header = request.headers[ORG_HEADER];
    // Only a slug is an org name; anything else names none (and is refused in authorize).
    const asked = typeof header === 'string' && isSlug(header) ? header : undefined;
    // Digests have one length, so this comparison takes the same time whatever was sent.
    if (timingSafeEqual(digestOf(secret), this.bootstrapDigest)) {
      const org = asked ?? 'default';
      const actor: Actor = { kind: 'bootstrap', id: 'bootstrap', name: 'bootstrap' };
      return { principal: { org, actor, role: 'bootstrap', permissions: builtInRoles.admin, systemAdmin: true, gateway: undefined } };
    }
    const id = claimedId(secret);
    const token = id === undefined ? undefined : access.tokens.get(id);
    if (token === undefined || !matches(secret, token.digest)) return { failure: 'unknown token' };
    if (token.expiresAt !== null && token.expiresAt.getTime() <= Date.now()) return { failure: `token "${token.name}" expired` };
    if (recordUse) this.options.used(token);
    return { principal: principalOf(token, access) };
  }

  private authorize(request: FastifyRequest, principal: Principal): CausewayError | undefined {
    const asked = request.headers[ORG_HEADER];
    if (asked !== undefined && (typeof asked !== 'string' || !isSlug(asked))) {
      return CausewayError.invalid([{ path: ORG_HEADER, message: `${JSON.stringify(String(asked).slice(0, 64))} is not one org name (${slugRule})` }]);
    }
    if (asked !== undefined && !principal.systemAdmin) {
      return new CausewayError('permission_denied', `only the bootstrap token may choose an org (${ORG_HEADER}); a token acts in its own org`);
    }
    if (principal.systemAdmin && !this.options.access().orgs.has(principal.org)) {
      return new CausewayError('not_found', `org "${principal.org}" does not exist`);
    }
    // No route matched: the not-found answer is for any valid token.
    const need = request.routeOptions.config.need ?? (request.is404 ? 'authenticated' : undefined);
    if (need === undefined) return new CausewayError('internal', 'the route declares no permission');
    // A heartbeat token reaches nothing else, not even what any token may call (an apply, whose body would be read first).
    if (principal.gateway !== undefined && need !== 'gateway-heartbeat' && !request.is404) {
      return this.denied(principal, `do anything but send the heartbeats of gateway "${principal.gateway}"`);
    }
    if (need === 'authenticated' || principal.systemAdmin) return undefined;
    if (need === 'system-admin') return this.denied(principal, 'do this (system administrators only)');
    if (need === 'gateway-heartbeat') {
      const gateway = (request.params as { name?: string }).name;
      if (principal.gateway === gateway || allows(principal.permissions, { subject: 'gateways', action: 'edit' })) return undefined;
      return this.denied(principal, `send heartbeats for gateway "${gateway ?? ''}": needs gateways:edit or the gateway's own token`);
    }
    const resolved = this.resolve(request, need);
    if (resolved === undefined) return undefined; // an unknown kind: the handler answers 404
    const { subject, actions } = resolved;
    const wanted = actions.join(' or ');
    // Zones describe the deployment, shared by every org: only a system administrator changes them.
    if (subject === 'zones' && actions.some((a) => a !== 'read')) return this.denied(principal, `${wanted} zones (system administrators only)`);
    if (actions.some((action) => allows(principal.permissions, { subject, action }))) return undefined;
    return this.denied(principal, `${wanted} ${subject}: needs ${actions.map((action) => describeNeed({ subject, action })).join(' or ')}`);
  }

  /** The subject and the actions (any one suffices here) a permission need names; undefined for a kind that does not exist. */
  private resolve(request: FastifyRequest, need: Exclude<RouteNeed, string>): { subject: Subject; actions: readonly Action[] } | undefined {
    if ('anyOf' in need) return { subject: need.subject, actions: need.anyOf };
    if ('action' in need) return { subject: need.subject, actions: [need.action] };
    const subject = subjectOfPlural[(request.params as { plural?: string }).plural ?? ''];
    return subject === undefined ? undefined : { subject, actions: typeof need.kind === 'string' ? [need.kind] : need.kind };
  }

  private denied(principal: Principal, what: string): CausewayError {
    const who = principal.actor.kind === 'gateway' ? `gateway token "${principal.actor.name}"` : `token "${principal.actor.name}" (role ${principal.role})`;
    return new CausewayError('permission_denied', `${who} may not ${what}`);
  }

  private unauthenticated(request: FastifyRequest, reply: FastifyReply, reason: string): FastifyReply {
    this.options.counters.unauthenticated();
    const wait = this.failures.take(request.ip);
    const actor: Actor = { kind: 'token', id: '', name: '(unauthenticated)' };
    this.record('default', request, actor, 'unauthenticated', reason);
    if (wait > 0) return this.throttle(reply, wait);
    return this.refuse(reply);
  }

  private throttle(reply: FastifyReply, waitSeconds: number): FastifyReply {
    this.options.counters.throttled();
    reply.header('retry-after', String(Math.max(1, waitSeconds)));
    return sendError(reply, new CausewayError('too_many_requests', 'too many failed authentications from this address; retry later'));
  }

  private record(org: string, request: FastifyRequest, actor: Actor, outcome: 'denied' | 'unauthenticated', detail: string): void {
    if (this.refusalEvents.take(request.ip) > 0) return;
    this.options.refused(org, this.auditContext(request, actor), outcome, `${request.method} ${request.routeOptions.url ?? '(no route)'}: ${detail}`);
  }

  private auditContext(request: FastifyRequest, actor: Actor): AuditContext {
    return { actor, requestId: request.id, source: request.ip, controllerId: this.options.controllerId };
  }
}

/** Request ids: the client's `X-Request-Id` when it is short and plain, else a new one. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(header) ? header : randomUUID();
}
