import type { FastifySchema } from 'fastify';
import { labelKeyPattern, labelValuePattern, MAX_NODE_LABELS, nodeIdPattern } from '@causeway/shared';
import type { JsonSchema } from './document-schemas.ts';
import { bodyErrors, consumes, errors, list, ok, params, slug, tags, time } from './schema-helpers.ts';

const labels = {
  type: 'object',
  propertyNames: { pattern: labelKeyPattern.source },
  additionalProperties: { type: 'string', pattern: labelValuePattern.source },
  maxProperties: MAX_NODE_LABELS,
} as const;
const tokenFields: Record<string, JsonSchema> = {
  kind: { const: 'RuntimeToken' },
  id: { type: 'string', pattern: '^rtk_[0-9a-f]{16}$' },
  org: { type: ['string', 'null'], description: 'the org its runtimes serve; null: shared runtimes, serving every org' },
  zone: slug,
  labels,
  state: { enum: ['active', 'expired', 'deleted'] },
  createdBy: { type: 'string' },
  createdAt: time,
  expiresAt: time,
  deletedAt: { type: ['string', 'null'], format: 'date-time' },
};
const token = { type: 'object', properties: tokenFields };
const node = params({ node: { type: 'string', pattern: nodeIdPattern.source, description: "the runtime's node id" } });
const revocation = {
  type: 'object',
  properties: {
    kind: { const: 'RuntimeRevocation' },
    nodeId: { type: 'string' },
    org: { type: ['string', 'null'] },
    serials: { type: 'array', items: { type: 'string' }, description: 'serials of its certificates denied (hexadecimal)' },
    revokedBy: { type: 'string' },
    revokedAt: time,
    revision: { type: 'integer' },
  },
};

/** Join tokens of runtimes, and the end of a runtime's access. */
export const runtimeRouteSchemas = {
  listRuntimeTokens: {
    tags: tags.runtimes,
    operationId: 'listRuntimeTokens',
    summary: "The org's join tokens (a system administrator also sees shared runtimes'), never their secrets",
    response: { 200: ok('The list', list('RuntimeTokenList', tokenFields)), ...errors(403) },
  },
  createRuntimeToken: {
    tags: tags.runtimes,
    operationId: 'createRuntimeToken',
    summary: 'A join token: a runtime presenting it gets a client certificate for this org (null: shared, system administrators only), zone and labels',
    consumes,
    body: {
      type: 'object',
      required: ['zone'],
      additionalProperties: false,
      properties: {
        zone: slug,
        org: { type: ['string', 'null'], description: "default: the caller's org; null: a shared runtime" },
        labels: { ...labels, default: {} },
        expiresInSeconds: { type: 'integer', minimum: 60, maximum: 31_536_000, default: 86_400, description: 'joins stop then; runtimes that joined keep renewing' },
      },
    },
    response: { 201: ok('The token, with its secret', { type: 'object', properties: { ...tokenFields, token: { type: 'string', description: 'the secret (cwj_…): shown this once, stored only as a digest' } } }), ...errors(...bodyErrors, 403) },
  },
  deleteRuntimeToken: {
    tags: tags.runtimes,
    operationId: 'deleteRuntimeToken',
    summary: 'Delete a join token: no new runtime joins with it (those that joined keep their certificates)',
    params: params({ id: tokenFields.id as JsonSchema }),
    response: { 200: ok('The deleted token', token), ...errors(403, 404) },
  },
  revokeRuntime: {
    tags: tags.runtimes,
    operationId: 'revokeRuntime',
    summary: "End a runtime's access: every replica closes its stream within a second and refuses it (stream, renewal, joining again)",
    params: node,
    response: { 200: ok('Already revoked (its serials are added)', revocation), 201: ok('Revoked', revocation), ...errors(400, 403, 404) },
  },
  readmitRuntime: {
    tags: tags.runtimes,
    operationId: 'readmitRuntime',
    summary: 'Lift a revocation: the node id may join again (with a join token)',
    params: node,
    response: {
      200: ok('Lifted', { type: 'object', properties: { kind: { const: 'Status' }, status: { const: 'deleted' }, metadata: { type: 'object', properties: { name: { type: 'string' }, kind: { const: 'RuntimeRevocation' }, revision: { type: 'integer' } } } } }),
      ...errors(400, 403, 404),
    },
  },
} satisfies Record<string, FastifySchema>;
