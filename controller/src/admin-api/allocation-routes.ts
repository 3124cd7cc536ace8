import type { FastifyInstance, FastifyReply } from 'fastify';
import { CausewayError } from '@causeway/shared';
import { allows } from '../access/permissions.ts';
import { AllocationFailed } from '../allocation/allocation-failed.ts';
import type { Allocator } from '../allocation/allocator.ts';
import { allocationStates, listAllocations, type Allocation, type AllocationFilter, type AllocationState } from '../store/allocations.ts';
import type { Sql } from '../store/database.ts';
import { needs, type Principal } from './access.ts';
import { SMALL_BODY_BYTES } from './body-parsers.ts';
import { Checker } from './checker.ts';
import { decodeCursor, encodeCursor } from './list-cursor.ts';
import { sendError } from './error-replies.ts';
import { ALLOCATION_PAGE } from './allocation-route-schemas.ts';
import { routeSchemas } from './route-schemas.ts';

export interface AllocationRouteDeps {
  readonly sql: Sql;
  readonly allocator: Allocator;
}

/** Printable ASCII, no spaces: what a client's request id or a UUID looks like. */
const idempotencyKeyPattern = /^[!-~]{1,128}$/;

/** An allocation as the admin API answers it. */
function allocationDocument(a: Allocation) {
  return {
    kind: 'Allocation',
    id: a.id,
    tenant: a.tenant,
    pool: a.pool,
    gateway: a.gateway,
    host: a.host,
    api: a.api,
    state: a.state,
    idempotencyKey: a.idempotencyKey,
    error: a.error,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
    finishedAt: a.finishedAt?.toISOString() ?? null,
    steps: a.steps.map((s) => ({ ...s, startedAt: s.startedAt.toISOString(), finishedAt: s.finishedAt?.toISOString() ?? null })),
  };
}

/** Naming a pool as the source of a tenant's gateway is attaching it, as naming it as an API's upstream is. */
function requireAttach(principal: Principal, pool: string): void {
  if (principal.systemAdmin || allows(principal.permissions, { subject: 'gateway-pools', action: 'attach' })) return;
  throw new CausewayError('permission_denied', `token "${principal.actor.name}" (role ${principal.role}) may not allocate from gateway pool "${pool}": needs gateway-pools:attach`);
}

/** A failed allocation answers its original error, with the allocation and its step log. */
function failed(reply: FastifyReply, error: AllocationFailed): FastifyReply {
  reply.header('location', `/v1/allocations/${error.allocation.id}`);
  return sendError(reply, error.error, { allocation: allocationDocument(error.allocation) });
}

/** Dedicated gateway allocations: POST on a pool, then read and release by id. */
export function registerAllocationRoutes(app: FastifyInstance, deps: AllocationRouteDeps): void {
  const { sql, allocator } = deps;

  app.post<{ Params: { name: string } }>('/v1/gateway-pools/:name/allocations', { ...needs({ subject: 'allocations', action: 'create' }), schema: routeSchemas.createAllocation, bodyLimit: SMALL_BODY_BYTES }, async (request, reply) => {
    const pool = request.params.name;
    requireAttach(request.principal, pool);
    const c = new Checker();
    const body = c.object('(body)', request.body, ['tenant', 'idempotencyKey'], true) ?? {};
    const tenant = c.slug('tenant', body.tenant);
    let key: string | null = null;
    if (body.idempotencyKey !== undefined) {
      key = c.string('idempotencyKey', body.idempotencyKey, undefined, 128);
      if (typeof body.idempotencyKey === 'string' && !idempotencyKeyPattern.test(body.idempotencyKey)) c.fail('idempotencyKey', 'is not 1 to 128 printable ASCII characters without spaces');
    }
    c.done();
    try {
      const { allocation, created } = await allocator.allocate(request.scope, pool, tenant, key);
      reply.code(created ? 201 : 200).header('location', `/v1/allocations/${allocation.id}`);
      return allocationDocument(allocation);
    } catch (error) {
      if (error instanceof AllocationFailed) return failed(reply, error);
      throw error;
    }
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v1/allocations', { ...needs({ subject: 'allocations', action: 'read' }), schema: routeSchemas.listAllocations }, async (request) => {
    const c = new Checker();
    const { pool, tenant, state } = request.query;
    const filter: { -readonly [K in keyof AllocationFilter]: AllocationFilter[K] } = {};
    if (pool !== undefined) filter.pool = c.slug('pool', pool);
    if (tenant !== undefined) filter.tenant = c.slug('tenant', tenant);
    if (state !== undefined) {
      if ((allocationStates as readonly string[]).includes(state)) filter.state = state as AllocationState;
      else c.fail('state', `${JSON.stringify(state.slice(0, 32))} is not one of ${allocationStates.join(', ')}`);
    }
    const before = decodeCursor(c, request.query.cursor, (id): id is string => typeof id === 'string' && /^alc_[0-9a-f]{16}$/.test(id));
    if (before !== undefined) filter.before = before;
    const limit = c.range('limit', request.query.limit === undefined ? undefined : Number(request.query.limit), { min: 1, max: ALLOCATION_PAGE, default: ALLOCATION_PAGE });
    c.done();
    const page = await listAllocations(sql, request.scope.org, filter, limit);
    return { kind: 'AllocationList', items: page.items.map(allocationDocument), nextCursor: page.next === undefined ? null : encodeCursor(page.next) };
  });

  app.get<{ Params: { id: string } }>('/v1/allocations/:id', { ...needs({ subject: 'allocations', action: 'read' }), schema: routeSchemas.getAllocation }, async (request) => {
    const allocation = await allocator.get(request.scope.org, request.params.id);
    if (allocation === undefined) throw new CausewayError('not_found', `allocation "${request.params.id}" does not exist`);
    return allocationDocument(allocation);
  });

  app.delete<{ Params: { id: string } }>('/v1/allocations/:id', { ...needs({ subject: 'allocations', action: 'delete' }), schema: routeSchemas.releaseAllocation }, async (request, reply) => {
    try {
      return allocationDocument(await allocator.release(request.scope, request.params.id));
    } catch (error) {
      if (error instanceof AllocationFailed) return failed(reply, error);
      throw error;
    }
  });
}
