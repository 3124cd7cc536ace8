import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CausewayError, isSlug, slugRule } from '@causeway/shared';
import { allows, builtInRoles, isBuiltInRole, type Permission } from '../access/permissions.ts';
import type { AccessModel } from '../store/access-tables.ts';
import { AccessStore } from '../store/access-store.ts';
import { listAuditEvents } from '../store/audit-events.ts';
import type { Sql } from '../store/database.ts';
import { notFound, ResourceStore } from '../store/resource-store.ts';
import { needs, type Principal } from './access.ts';
import {
  auditEventDocument,
  builtInRoleDocuments,
  orgDocument,
  parseAuditQuery,
  refuseEscalation,
  roleDocument,
  tokenDocument,
  validateGatewayTokenRequest,
  validateRole,
  validateTokenRequest,
} from './access-documents.ts';
import { encodeCursor } from './list-cursor.ts';
import { SMALL_BODY_BYTES } from './body-parsers.ts';
import { Checker } from './checker.ts';
import { routeSchemas } from './route-schemas.ts';
import { API_VERSION } from './validate.ts';

export interface AccessRouteDeps {
  readonly sql: Sql;
  /** Orgs, roles and tokens as this replica holds them. */
  access(): AccessModel;
  /** Resolves once this replica's model holds the revision: what a write answered here is in force here. */
  caughtUpTo(revision: number): Promise<boolean>;
}

function permissionsOf(org: string, role: string, access: AccessModel): readonly Permission[] | undefined {
  return isBuiltInRole(role) ? builtInRoles[role] : access.roles.get(`${org}/${role}`)?.permissions;
}

function slugParam(name: string, value: string): string {
  if (isSlug(value)) return value;
  throw CausewayError.invalid([{ path: name, message: `${JSON.stringify(String(value).slice(0, 64))} is not a slug (${slugRule})` }]);
}

/** Orgs (system administrators), tokens and roles of the caller's org, gateways' own tokens, the audit log. */
export function registerAccessRoutes(app: FastifyInstance, deps: AccessRouteDeps): void {
  const { sql } = deps;
  const accessOf = (request: FastifyRequest): AccessStore => new AccessStore(sql, request.scope);

  app.get('/v1/orgs', { ...needs('system-admin'), schema: routeSchemas.listOrgs }, async (request) => ({
    apiVersion: API_VERSION,
    kind: 'OrgList',
    items: (await accessOf(request).listOrgs()).map(orgDocument),
  }));

  app.post('/v1/orgs', { ...needs('system-admin'), schema: routeSchemas.createOrg, bodyLimit: SMALL_BODY_BYTES }, async (request, reply) => {
    const c = new Checker();
    const body = c.object('(body)', request.body, ['name'], true) ?? {};
    const name = c.slug('name', body.name);
    c.done();
    const org = await accessOf(request).createOrg(name);
    await deps.caughtUpTo(org.revision);
    reply.code(201).header('location', `/v1/orgs/${org.name}`);
    return orgDocument(org);
  });

  app.delete<{ Params: { name: string } }>('/v1/orgs/:name', { ...needs('system-admin'), schema: routeSchemas.deleteOrg }, async (request) => {
    const revision = await accessOf(request).deleteOrg(slugParam('name', request.params.name));
    await deps.caughtUpTo(revision);
    return { apiVersion: API_VERSION, kind: 'Status', status: 'deleted', metadata: { name: request.params.name, kind: 'Org', revision } };
  });

  app.get('/v1/tokens', { ...needs({ subject: 'tokens', action: 'read' }), schema: routeSchemas.listTokens }, async (request) => ({
    apiVersion: API_VERSION,
    kind: 'TokenList',
    items: (await accessOf(request).listTokens()).map(tokenDocument),
  }));

  app.post('/v1/tokens', { ...needs({ subject: 'tokens', action: 'create' }), schema: routeSchemas.createToken, bodyLimit: SMALL_BODY_BYTES }, async (request, reply) => {
    const wanted = validateTokenRequest(request.body);
    const permissions = permissionsOf(request.scope.org, wanted.role, deps.access());
    if (permissions === undefined) throw CausewayError.invalid([{ path: 'role', message: `role "${wanted.role}" does not exist in org "${request.scope.org}"` }]);
    refuseEscalation(request.principal, permissions, `create a token with role ${wanted.role}`);
    const created = await accessOf(request).createToken({ name: wanted.name, role: wanted.role, gateway: null, expiresInSeconds: wanted.expiresInSeconds });
    await deps.caughtUpTo(created.record.revision);
    reply.code(201);
    return { ...tokenDocument(created.record), token: created.secret };
  });

  app.delete<{ Params: { id: string } }>('/v1/tokens/:id', { ...needs({ subject: 'tokens', action: 'delete' }), schema: routeSchemas.revokeToken }, async (request) => {
    if (!/^tok_[0-9a-f]{16}$/.test(request.params.id)) throw new CausewayError('not_found', `token "${request.params.id.slice(0, 64)}" does not exist or is already revoked`);
    const revoked = await accessOf(request).revokeToken(request.params.id);
    await deps.caughtUpTo(revoked.revision);
    return tokenDocument(revoked);
  });

  app.post<{ Params: { name: string } }>('/v1/gateways/:name/tokens', { ...needs({ subject: 'gateways', action: 'edit' }), schema: routeSchemas.createGatewayToken, bodyLimit: SMALL_BODY_BYTES }, async (request, reply) => {
    const gateway = slugParam('name', request.params.name);
    const { expiresInSeconds } = validateGatewayTokenRequest(request.body);
    if ((await new ResourceStore(sql, request.scope).get('Gateway', gateway)) === undefined) throw notFound('Gateway', gateway);
    const created = await accessOf(request).createToken({ name: gateway, role: null, gateway, expiresInSeconds });
    await deps.caughtUpTo(created.record.revision);
    reply.code(201);
    return { ...tokenDocument(created.record), token: created.secret };
  });

  registerRoleRoutes(app, accessOf, deps);

  app.get<{ Querystring: Record<string, string | undefined> }>('/v1/audit-events', { ...needs({ subject: 'audit-events', action: 'read' }), schema: routeSchemas.listAuditEvents }, async (request) => {
    const query = parseAuditQuery(request.scope.org, request.query);
    const { events, next } = await listAuditEvents(sql, query);
    return { apiVersion: API_VERSION, kind: 'AuditEventList', items: events.map(auditEventDocument), nextCursor: next === undefined ? null : encodeCursor(next) };
  });
}

function registerRoleRoutes(app: FastifyInstance, accessOf: (request: FastifyRequest) => AccessStore, deps: AccessRouteDeps): void {
  app.get('/v1/roles', { ...needs({ subject: 'roles', action: 'read' }), schema: routeSchemas.listRoles }, async (request) => ({
    apiVersion: API_VERSION,
    kind: 'RoleList',
    items: [...builtInRoleDocuments(), ...(await accessOf(request).listRoles()).map((r) => roleDocument(r.name, r.permissions, r))],
  }));

  app.get<{ Params: { name: string } }>('/v1/roles/:name', { ...needs({ subject: 'roles', action: 'read' }), schema: routeSchemas.getRole }, async (request) => {
    const { name } = request.params;
    if (isBuiltInRole(name)) return roleDocument(name, builtInRoles[name]);
    const record = deps.access().roles.get(`${request.scope.org}/${name}`);
    if (record === undefined) throw new CausewayError('not_found', `role "${name.slice(0, 64)}" does not exist`);
    return roleDocument(name, record.permissions, record);
  });

  // Creating a role needs roles:create, changing one roles:edit: the route lets either in.
  app.put<{ Params: { name: string } }>('/v1/roles/:name', { ...needs({ subject: 'roles', anyOf: ['create', 'edit'] }), schema: routeSchemas.putRole, bodyLimit: SMALL_BODY_BYTES }, async (request, reply) => {
    const permissions = validateRole(request.params.name, request.body);
    const principal: Principal = request.principal;
    const action = deps.access().roles.has(`${request.scope.org}/${request.params.name}`) ? 'edit' : 'create';
    if (!principal.systemAdmin && !allows(principal.permissions, { subject: 'roles', action })) {
      throw new CausewayError('permission_denied', `token "${principal.actor.name}" (role ${principal.role}) may not ${action} roles: needs roles:${action}`);
    }
    refuseEscalation(principal, permissions, `grant these permissions with role ${request.params.name}`);
    const { record, created } = await accessOf(request).putRole(request.params.name, permissions);
    await deps.caughtUpTo(record.revision);
    reply.code(created ? 201 : 200);
    return roleDocument(record.name, record.permissions, record);
  });

  app.delete<{ Params: { name: string } }>('/v1/roles/:name', { ...needs({ subject: 'roles', action: 'delete' }), schema: routeSchemas.deleteRole }, async (request) => {
    const name = slugParam('name', request.params.name);
    if (isBuiltInRole(name)) throw new CausewayError('conflict', `"${name}" is a built-in role and cannot be deleted`);
    const revision = await accessOf(request).deleteRole(name);
    await deps.caughtUpTo(revision);
    return { apiVersion: API_VERSION, kind: 'Status', status: 'deleted', metadata: { name, kind: 'Role', revision } };
  });
}
