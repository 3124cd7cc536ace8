import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CausewayError, MAX_NODE_LABELS, nodeIdPattern, nodeIdRule } from '@causeway/shared';
import type { AccessModel, RevocationRecord } from '../store/access-tables.ts';
import type { Sql } from '../store/database.ts';
import { RuntimeRevocationStore } from '../store/runtime-revocations.ts';
import { RuntimeTokenStore, type NewRuntimeToken, type RuntimeTokenRecord } from '../store/runtime-tokens.ts';
import { needs } from './access.ts';
import { SMALL_BODY_BYTES } from './body-parsers.ts';
import { Checker } from './checker.ts';
import { routeSchemas } from './route-schemas.ts';
import { API_VERSION } from './validate.ts';

/** A join token lives a day unless asked otherwise; at most a year. */
const joinTokenLifetime = { defaultSeconds: 86_400, minSeconds: 60, maxSeconds: 31_536_000 } as const;

export interface RuntimeRouteDeps {
  readonly sql: Sql;
  /** Orgs as this replica holds them. */
  access(): AccessModel;
  /** Resolves once this replica's model holds the revision. */
  caughtUpTo(revision: number): Promise<boolean>;
}

function tokenDocument(token: RuntimeTokenRecord) {
  const state = token.revokedAt !== null ? 'deleted' : token.expiresAt.getTime() <= Date.now() ? 'expired' : 'active';
  return {
    apiVersion: API_VERSION,
    kind: 'RuntimeToken',
    id: token.id,
    org: token.org,
    zone: token.zone,
    labels: token.labels,
    state,
    createdBy: token.createdBy,
    createdAt: token.createdAt.toISOString(),
    expiresAt: token.expiresAt.toISOString(),
    deletedAt: token.revokedAt?.toISOString() ?? null,
  };
}

function revocationDocument(revocation: RevocationRecord) {
  return {
    apiVersion: API_VERSION,
    kind: 'RuntimeRevocation',
    nodeId: revocation.nodeId,
    org: revocation.org,
    serials: revocation.serials,
    revokedBy: revocation.revokedBy,
    revokedAt: revocation.revokedAt.toISOString(),
    revision: revocation.revision,
  };
}

/** `{"zone": "eu-1", "org": "acme" | null, "labels": {"env": "prod"}, "expiresInSeconds": 86400}`; org defaults to the caller's. */
function validateTokenRequest(body: unknown, callerOrg: string): NewRuntimeToken {
  const c = new Checker();
  const doc = c.object('(body)', body, ['zone', 'org', 'labels', 'expiresInSeconds'], true) ?? {};
  const zone = c.slug('zone', doc.zone);
  const org = doc.org === null ? null : c.slug('org', doc.org, callerOrg);
  const labels = c.runtimeLabels('labels', doc.labels, MAX_NODE_LABELS);
  const { defaultSeconds, minSeconds, maxSeconds } = joinTokenLifetime;
  const expiresInSeconds = c.integer('expiresInSeconds', doc.expiresInSeconds, defaultSeconds, minSeconds, maxSeconds);
  c.done();
  return { zone, org, labels, expiresInSeconds };
}

function nodeParam(value: string): string {
  if (nodeIdPattern.test(value)) return value;
  throw CausewayError.invalid([{ path: 'node', message: `${JSON.stringify(value.slice(0, 64))} is not a node id (${nodeIdRule})` }]);
}

/**
 * Join tokens of runtimes (`runtimes:create`; a shared runtime's, org null, only for system
 * administrators) and the end of a runtime's access: revoke (`runtimes:delete`) and readmit
 * (`runtimes:create`, as letting a runtime in is).
 */
export function registerRuntimeRoutes(app: FastifyInstance, deps: RuntimeRouteDeps): void {
  const { sql } = deps;
  const shared = (request: FastifyRequest): boolean => request.principal.systemAdmin;
  const tokens = (request: FastifyRequest, org = request.scope.org): RuntimeTokenStore => new RuntimeTokenStore(sql, { ...request.scope, org }, shared(request));

  app.get('/v1/runtime-tokens', { ...needs({ subject: 'runtimes', action: 'read' }), schema: routeSchemas.listRuntimeTokens }, async (request) => ({
    apiVersion: API_VERSION,
    kind: 'RuntimeTokenList',
    items: (await tokens(request).list()).map(tokenDocument),
  }));

  app.post('/v1/runtime-tokens', { ...needs({ subject: 'runtimes', action: 'create' }), schema: routeSchemas.createRuntimeToken, bodyLimit: SMALL_BODY_BYTES }, async (request, reply) => {
    const wanted = validateTokenRequest(request.body, request.scope.org);
    if (wanted.org === null && !shared(request)) {
      throw new CausewayError('permission_denied', `token "${request.principal.actor.name}" may not create tokens for shared runtimes (org null): system administrators only`);
    }
    if (wanted.org !== null && wanted.org !== request.scope.org && !shared(request)) {
      throw new CausewayError('permission_denied', `token "${request.principal.actor.name}" may create runtime tokens for its own org ("${request.scope.org}") only`);
    }
    if (wanted.org !== null && !deps.access().orgs.has(wanted.org)) throw CausewayError.invalid([{ path: 'org', message: `org "${wanted.org}" does not exist` }]);
    const created = await tokens(request, wanted.org ?? request.scope.org).create(wanted);
    reply.code(201);
    return { ...tokenDocument(created.record), token: created.secret };
  });

  app.delete<{ Params: { id: string } }>('/v1/runtime-tokens/:id', { ...needs({ subject: 'runtimes', action: 'delete' }), schema: routeSchemas.deleteRuntimeToken }, async (request) => {
    const { id } = request.params;
    if (!/^rtk_[0-9a-f]{16}$/.test(id)) throw new CausewayError('not_found', `runtime token "${id.slice(0, 64)}" does not exist or is already deleted`);
    return tokenDocument(await tokens(request).delete(id));
  });

  app.post<{ Params: { node: string } }>('/v1/runtimes/:node/revoke', { ...needs({ subject: 'runtimes', action: 'delete' }), schema: routeSchemas.revokeRuntime }, async (request, reply) => {
    const { record, created } = await new RuntimeRevocationStore(sql, request.scope, shared(request)).revoke(nodeParam(request.params.node));
    // In force on this replica when the answer leaves; the others read it from the log within a second.
    await deps.caughtUpTo(record.revision);
    reply.code(created ? 201 : 200);
    return revocationDocument(record);
  });

  app.delete<{ Params: { node: string } }>('/v1/runtimes/:node/revocation', { ...needs({ subject: 'runtimes', action: 'create' }), schema: routeSchemas.readmitRuntime }, async (request) => {
    const node = nodeParam(request.params.node);
    const revision = await new RuntimeRevocationStore(sql, request.scope, shared(request)).readmit(node);
    await deps.caughtUpTo(revision);
    return { apiVersion: API_VERSION, kind: 'Status', status: 'deleted', metadata: { name: node, kind: 'RuntimeRevocation', revision } };
  });
}
