import type { FastifySchema } from 'fastify';
import { allocationStates, stepNames } from '../store/allocations.ts';
import type { JsonSchema } from './document-schemas.ts';
import { bodyErrors, consumes, errorResponse, errors, ok, params, slug, time } from './schema-helpers.ts';

const tags = ['Allocations'];
const id = { type: 'string', pattern: '^alc_[0-9a-f]{16}$', description: 'the allocation id' };
const nullableTime = { type: ['string', 'null'], format: 'date-time' };

const step: JsonSchema = {
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    step: { enum: [...stepNames] },
    direction: { enum: ['do', 'undo'] },
    state: { enum: ['running', 'done', 'failed'] },
    attempts: { type: 'integer' },
    controller: { type: 'string', description: 'the replica that ran it' },
    startedAt: time,
    finishedAt: nullableTime,
    error: { type: ['string', 'null'] },
    detail: { type: ['string', 'null'] },
  },
};

/** An allocation as every route answers it: also the `allocation` of an error envelope. */
const allocationSchema: JsonSchema = {
  type: 'object',
  properties: {
    kind: { const: 'Allocation' },
    id,
    tenant: slug,
    pool: slug,
    gateway: { type: ['string', 'null'], description: 'set by the reserve step' },
    host: { type: 'string', description: '<tenant>.<CAUSEWAY_TENANT_DOMAIN>' },
    api: { type: 'string', description: 'the API that routes the host to the gateway' },
    state: { enum: [...allocationStates] },
    idempotencyKey: { type: ['string', 'null'] },
    error: { type: ['object', 'null'], properties: { code: { type: 'string' }, message: { type: 'string' } }, description: 'what failed (the error the caller got)' },
    createdAt: time,
    updatedAt: time,
    finishedAt: nullableTime,
    steps: { type: 'array', items: step, description: 'every step and undo, in order' },
  },
};

/** An allocation that failed: the one Error envelope, with the allocation and its step log. */
const failed = (status: number): JsonSchema => ({ ...errorResponse(status), description: `${String(errorResponse(status).description)}, with \`allocation\`` });

/** A page of allocations holds at most this many, and this many unless `?limit=` asks fewer. */
export const ALLOCATION_PAGE = 500;

export const allocationRouteSchemas = {
  createAllocation: {
    tags,
    operationId: 'createAllocation',
    summary: "Give a tenant a dedicated gateway of the pool: reserve, route the tenant's host to it, wait for the runtimes, hand it the tenant",
    description:
      'Needs allocations:create and gateway-pools:attach. The same tenant again, or the same idempotencyKey, gets the allocation it has (200), never a second gateway. A failure at any step undoes the steps done, in reverse order, and answers the error of the step that failed with `allocation` (its step log) and a Location header.',
    params: params({ name: { ...slug, description: "the pool's name" } }),
    consumes,
    body: {
      type: 'object',
      required: ['tenant'],
      additionalProperties: false,
      properties: { tenant: { ...slug, description: 'its host will be <tenant>.<CAUSEWAY_TENANT_DOMAIN>' }, idempotencyKey: { type: 'string', minLength: 1, maxLength: 128 } },
    },
    response: {
      201: ok('Allocated: the gateway serves the tenant', allocationSchema, { location: { type: 'string' } }),
      200: ok('The allocation the tenant (or the key) already has', allocationSchema, { location: { type: 'string' } }),
      ...errors(...bodyErrors, 403, 404, 409),
      409: failed(409),
      502: failed(502),
      503: failed(503),
      504: failed(504),
    },
  },
  listAllocations: {
    tags,
    operationId: 'listAllocations',
    summary: `Allocations, newest first, a page at a time (${ALLOCATION_PAGE} unless \`limit\` asks fewer)`,
    querystring: {
      type: 'object',
      properties: {
        pool: slug,
        tenant: slug,
        state: { enum: [...allocationStates] },
        limit: { type: 'integer', minimum: 1, maximum: ALLOCATION_PAGE, default: ALLOCATION_PAGE },
        cursor: { type: 'string', description: 'nextCursor of the previous page' },
      },
    },
    response: {
      200: ok('One page', {
        type: 'object',
        properties: {
          kind: { const: 'AllocationList' },
          items: { type: 'array', items: allocationSchema },
          nextCursor: { type: ['string', 'null'], description: 'where the next page starts; null on the last page' },
        },
      }),
      ...errors(400),
    },
  },
  getAllocation: {
    tags,
    operationId: 'getAllocation',
    summary: 'One allocation with its step log',
    params: params({ id }),
    response: { 200: ok('The allocation', allocationSchema), ...errors(404) },
  },
  releaseAllocation: {
    tags,
    operationId: 'releaseAllocation',
    summary: 'Release: undo the steps in reverse order (forget the tenant, remove its route, free the gateway)',
    description: 'A released or rolled-back allocation is answered as it is. A failed one is retried: the undos that failed run again.',
    params: params({ id }),
    response: { 200: ok('Released', allocationSchema), ...errors(404, 409), 502: failed(502), 503: failed(503), 504: failed(504) },
  },
} satisfies Record<string, FastifySchema>;
