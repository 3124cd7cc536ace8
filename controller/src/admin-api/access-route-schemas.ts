import type { FastifySchema } from 'fastify';
import { actions, subjects } from '../access/permissions.ts';
import type { JsonSchema } from './document-schemas.ts';
import { bodyErrors, consumes, errors, list, named, ok, params, slug, tags, time } from './schema-helpers.ts';

const org = { type: 'object', properties: { kind: { const: 'Org' }, metadata: { type: 'object', properties: { name: slug, revision: { type: 'integer' }, createdBy: { type: 'string' }, createdAt: time } } } };
const tokenFields: Record<string, JsonSchema> = {
  id: { type: 'string', pattern: '^tok_[0-9a-f]{16}$' },
  name: slug,
  role: { type: ['string', 'null'], description: 'null for a gateway heartbeat token' },
  gateway: { type: ['string', 'null'], description: 'the one gateway a heartbeat token may report for' },
  state: { enum: ['active', 'expired', 'revoked'] },
  createdBy: { type: 'string' },
  createdAt: time,
  expiresAt: { type: ['string', 'null'], format: 'date-time' },
  lastUsedAt: { type: ['string', 'null'], format: 'date-time', description: 'recorded at most once a minute' },
  revokedAt: { type: ['string', 'null'], format: 'date-time' },
};
const newToken = { type: 'object', properties: { ...tokenFields, token: { type: 'string', description: 'the secret: shown this once, stored only as a digest' } } };
const expiresInSeconds = { type: ['integer', 'null'], minimum: 60, maximum: 315_360_000, default: 7_776_000, description: 'null: never' };
const permission = {
  type: 'object',
  required: ['subject', 'actions'],
  properties: { subject: { enum: [...subjects] }, actions: { type: 'array', items: { enum: [...actions] }, minItems: 1 } },
};
const role = {
  type: 'object',
  properties: {
    kind: { const: 'Role' },
    metadata: { type: 'object', properties: { name: slug, builtIn: { type: 'boolean' }, revision: { type: 'integer' }, updatedAt: time } },
    spec: { type: 'object', properties: { permissions: { type: 'array', items: permission } } },
  },
};
const deleted = (kind: string): JsonSchema => ({ type: 'object', properties: { kind: { const: 'Status' }, status: { const: 'deleted' }, metadata: { type: 'object', properties: { name: slug, kind: { const: kind }, revision: { type: 'integer' } } } } });
const change = { type: 'object', properties: { field: { type: 'string' }, before: {}, after: {} } };
const auditEvent = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: time,
    org: slug,
    actor: { type: 'object', properties: { kind: { enum: ['bootstrap', 'token', 'gateway', 'runtime', 'system'] }, id: { type: 'string' }, name: { type: 'string' } } },
    action: { type: 'string', description: 'gateway-pool.add-member, api.rollback, token.revoke, …' },
    outcome: { enum: ['ok', 'denied', 'unauthenticated'] },
    resource: { type: 'object', properties: { kind: { type: 'string' }, name: { type: 'string' } } },
    revision: { type: ['integer', 'null'] },
    requestId: { type: 'string' },
    controller: { type: 'string' },
    source: { type: 'string' },
    changes: { type: 'array', items: change },
  },
};
const query = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties });

/** Orgs, tokens, roles, gateways' heartbeat tokens and the audit log. */
export const accessRouteSchemas = {
  listOrgs: { tags: tags.access, operationId: 'listOrgs', summary: 'Every org (system administrators)', response: { 200: ok('The list', list('OrgList', org.properties)), ...errors(403) } },
  createOrg: {
    tags: tags.access,
    operationId: 'createOrg',
    summary: 'Create an org (system administrators)',
    consumes,
    body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: slug } },
    response: { 201: ok('The org', org), ...errors(...bodyErrors, 403, 409) },
  },
  deleteOrg: { tags: tags.access, operationId: 'deleteOrg', summary: 'Delete an org that owns nothing (409 naming what it still owns)', params: named('org'), response: { 200: ok('Deleted', deleted('Org')), ...errors(403, 404, 409) } },
  listTokens: { tags: tags.access, operationId: 'listTokens', summary: "The org's tokens, never their secrets", response: { 200: ok('The list', list('TokenList', tokenFields)), ...errors(403) } },
  createToken: {
    tags: tags.access,
    operationId: 'createToken',
    summary: 'Create a token with a role of the org; the secret is in this answer only',
    consumes,
    body: { type: 'object', required: ['name', 'role'], additionalProperties: false, properties: { name: slug, role: slug, expiresInSeconds } },
    response: { 201: ok('The token, with its secret', newToken), ...errors(...bodyErrors, 403, 409) },
  },
  revokeToken: { tags: tags.access, operationId: 'revokeToken', summary: 'Revoke a token: refused by every replica within a second', params: params({ id: tokenFields.id as JsonSchema }), response: { 200: ok('The revoked token', { type: 'object', properties: tokenFields }), ...errors(403, 404) } },
  createGatewayToken: {
    tags: tags.access,
    operationId: 'createGatewayToken',
    summary: "A token that may do nothing but send this gateway's heartbeats",
    params: named('gateway'),
    consumes,
    body: { type: 'object', additionalProperties: false, properties: { expiresInSeconds } },
    response: { 201: ok('The token, with its secret', newToken), ...errors(...bodyErrors, 403, 404) },
  },
  listRoles: { tags: tags.access, operationId: 'listRoles', summary: 'Built-in roles (admin, operator, viewer) and the org’s own', response: { 200: ok('The list', list('RoleList', role.properties)), ...errors(403) } },
  getRole: { tags: tags.access, operationId: 'getRole', summary: 'One role', params: named('role'), response: { 200: ok('The role', role), ...errors(403, 404) } },
  putRole: {
    tags: tags.access,
    operationId: 'putRole',
    summary: 'Create or replace a custom role; a token may grant only what it holds',
    params: named('role'),
    consumes,
    body: { type: 'object', required: ['permissions'], properties: { permissions: { type: 'array', maxItems: 32, items: permission } } },
    response: { 200: ok('Replaced', role), 201: ok('Created', role), ...errors(...bodyErrors, 403) },
  },
  deleteRole: { tags: tags.access, operationId: 'deleteRole', summary: 'Delete a custom role no live token uses', params: named('role'), response: { 200: ok('Deleted', deleted('Role')), ...errors(403, 404, 409) } },
  listAuditEvents: {
    tags: tags.audit,
    operationId: 'listAuditEvents',
    summary: "The org's audit events, newest first",
    querystring: query({
      resource: { type: 'string', description: 'kind/name (gateway-pool/shop) or kind' },
      action: { type: 'string' },
      actor: { type: 'string', description: 'token id or name' },
      since: { type: 'string', description: 'RFC 3339 time, or a duration before now: 30m, 1h, 7d' },
      until: { type: 'string', description: 'RFC 3339 time, or a duration before now' },
      limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      cursor: { type: 'string', description: 'nextCursor of the previous page' },
    }),
    response: { 200: ok('A page', { type: 'object', properties: { kind: { const: 'AuditEventList' }, items: { type: 'array', items: auditEvent }, nextCursor: { type: ['string', 'null'] } } }), ...errors(400, 403) },
  },
} satisfies Record<string, FastifySchema>;
