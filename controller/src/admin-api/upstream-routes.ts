import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CausewayError } from '@causeway/shared';
import type { Sql } from '../store/database.ts';
import { recordHeartbeat } from '../store/gateway-heartbeats.ts';
import { poolAvailability } from '../store/allocation-gateways.ts';
import { loadGatewayHealth, poolStatus, type HealthSettings } from '../store/gateway-health.ts';
import { allocationsUsing, apisUsing, poolUsageCounts } from '../store/pool-usage.ts';
import { PoolStore } from '../store/pool-store.ts';
import type { PoolRecord, StoredRecord } from '../store/records.ts';
import { notFound, ResourceStore } from '../store/resource-store.ts';
import { needs } from './access.ts';
import { Checker, isObject } from './checker.ts';
import { etag, parseIfMatch, toDocument } from './documents.ts';
import { API_VERSION, validateDocument } from './validate.ts';
import { SMALL_BODY_BYTES } from './body-parsers.ts';
import { parseForce } from './resource-routes.ts';
import { namePageOf, readNamePage, type PageQuery } from './list-cursor.ts';
import { routeSchemas } from './route-schemas.ts';

export interface UpstreamRouteDeps {
  readonly sql: Sql;
  readonly health: HealthSettings;
}

/**
 * Gateway pools (slugs, memberships, health as healthy/total, what uses them) and the
 * health side of gateways (status, heartbeats).
 */
export function registerUpstreamRoutes(app: FastifyInstance, deps: UpstreamRouteDeps): void {
  const { sql, health } = deps;
  const storeOf = (request: FastifyRequest): ResourceStore => new ResourceStore(sql, request.scope);
  const poolsOf = (request: FastifyRequest): PoolStore => new PoolStore(sql, request.scope);

  async function describePools(org: string, records: readonly PoolRecord[]) {
    const members = [...new Set(records.flatMap((p) => p.spec.members))];
    const healthByGateway = await loadGatewayHealth(sql, org, health, members);
    const usedBy = await poolUsageCounts(sql, org);
    const availability = await poolAvailability(sql, org, records.map((p) => ({ name: p.name, members: p.spec.members })), healthByGateway);
    return records.map((pool) => {
      const counts = availability.get(pool.name);
      const memberHealth = pool.spec.members.map((gateway) => ({ gateway, ...(healthByGateway.get(gateway) ?? { state: 'unknown' as const, reason: 'not checked yet', lastHeartbeatAt: null, checkedAt: null }) }));
      const summary = poolStatus(memberHealth);
      return {
        ...toDocument(pool),
        status: {
          status: summary.status,
          memberCount: summary.total,
          healthyMemberCount: summary.healthy,
          health: `${summary.healthy}/${summary.total}`,
          members: memberHealth.map((m) => ({ gateway: m.gateway, health: m.state, reason: m.reason, lastHeartbeatAt: m.lastHeartbeatAt, checkedAt: m.checkedAt })),
          usedByCount: usedBy.get(pool.name) ?? 0,
          // What a dedicated allocation would find: members held by one, and members it could take now.
          allocatedCount: counts?.allocated ?? 0,
          freeCount: counts?.free.length ?? 0,
          quarantinedCount: counts?.quarantined ?? 0,
        },
      };
    });
  }

  async function describeOne(store: ResourceStore, name: string) {
    const pool = await store.get('GatewayPool', name);
    if (pool === undefined) throw notFound('GatewayPool', name);
    const [doc] = await describePools(store.orgName, [pool]);
    return doc;
  }

  app.get<{ Querystring: PageQuery }>('/v1/gateway-pools', { ...needs({ subject: 'gateway-pools', action: 'read' }), schema: routeSchemas.listGatewayPools }, async (request) => {
    const { items: records, nextCursor } = await readNamePage(namePageOf(request.query), (page) => storeOf(request).list('GatewayPool', page));
    return { apiVersion: API_VERSION, kind: 'GatewayPoolList', items: await describePools(request.scope.org, records), nextCursor };
  });

  app.get<{ Params: { name: string } }>('/v1/gateway-pools/:name', { ...needs({ subject: 'gateway-pools', action: 'read' }), schema: routeSchemas.getGatewayPool }, async (request, reply) => {
    const doc = await describeOne(storeOf(request), request.params.name);
    reply.header('etag', etag(doc?.metadata.revision ?? 0));
    return doc;
  });

  app.post('/v1/gateway-pools', { ...needs({ subject: 'gateway-pools', action: 'create' }), schema: routeSchemas.createGatewayPool }, async (request, reply) => {
    const body = isObject(request.body) ? request.body : {};
    const metadata = isObject(body.metadata) ? body.metadata : {};
    const name = typeof metadata.name === 'string' ? metadata.name : undefined;
    if (name === undefined) throw CausewayError.invalid([{ path: 'metadata.name', message: 'is required' }]);
    const doc = validateDocument(request.body, { kind: 'GatewayPool', name });
    const spec = doc.spec as PoolRecord['spec'];
    const record = await poolsOf(request).create(doc.name, doc.labels, spec.members, spec.description);
    reply.code(201).header('etag', etag(record.revision)).header('location', `/v1/gateway-pools/${record.name}`);
    return describeOne(storeOf(request), record.name);
  });

  app.patch<{ Params: { name: string } }>('/v1/gateway-pools/:name', { ...needs({ subject: 'gateway-pools', action: 'edit' }), schema: routeSchemas.patchGatewayPool, bodyLimit: SMALL_BODY_BYTES }, async (request, reply) => {
    const c = new Checker();
    const body = c.object('(body)', request.body, ['apiVersion', 'kind', 'metadata', 'spec'], true) ?? {};
    const metadata = c.object('metadata', body.metadata, ['name']) ?? {};
    const spec = c.object('spec', body.spec, ['description']) ?? {};
    const changes: { name?: string; description?: string } = {};
    if (metadata.name !== undefined) changes.name = c.slug('metadata.name', metadata.name);
    if (spec.description !== undefined) changes.description = c.string('spec.description', spec.description, '', 256);
    if (!isObject(request.body) || (changes.name === undefined && changes.description === undefined)) {
      c.fail('(body)', 'names nothing to change (metadata.name to rename, spec.description)');
    }
    c.done();
    const ifMatch = parseIfMatch(request.headers['if-match']);
    if (ifMatch === 'invalid') throw CausewayError.invalid([{ path: 'If-Match', message: 'is not a revision ETag like "12"' }]);
    const record = await poolsOf(request).update(request.params.name, changes, ifMatch);
    reply.header('etag', etag(record.revision));
    return describeOne(storeOf(request), record.name);
  });

  app.post<{ Params: { name: string } }>('/v1/gateway-pools/:name/memberships', { ...needs({ subject: 'gateway-pools', action: 'edit' }), schema: routeSchemas.addPoolMember, bodyLimit: SMALL_BODY_BYTES }, async (request, reply) => {
    const c = new Checker();
    const body = c.object('(body)', request.body, ['gateway'], true) ?? {};
    const gateway = c.slug('gateway', body.gateway);
    c.done();
    const record = await poolsOf(request).addMember(request.params.name, gateway);
    reply.code(201).header('etag', etag(record.revision));
    return describeOne(storeOf(request), record.name);
  });

  app.delete<{ Params: { name: string; gateway: string }; Querystring: Record<string, string> }>('/v1/gateway-pools/:name/memberships/:gateway', { ...needs({ subject: 'gateway-pools', action: 'edit' }), schema: routeSchemas.removePoolMember }, async (request, reply) => {
    const record = await poolsOf(request).removeMember(request.params.name, request.params.gateway, parseForce(request.query));
    reply.header('etag', etag(record.revision));
    return describeOne(storeOf(request), record.name);
  });

  app.get<{ Params: { name: string } }>('/v1/gateway-pools/:name/resources', { ...needs({ subject: 'gateway-pools', action: 'read' }), schema: routeSchemas.listPoolResources }, async (request) => {
    const org = request.scope.org;
    if ((await storeOf(request).get('GatewayPool', request.params.name)) === undefined) throw notFound('GatewayPool', request.params.name);
    const apis = await apisUsing(sql, 'GatewayPool', org, request.params.name);
    const allocations = await allocationsUsing(sql, org, request.params.name);
    return {
      apiVersion: API_VERSION,
      kind: 'ResourceList',
      items: [...apis.map((name) => ({ kind: 'Api', name })), ...allocations.map((a) => ({ kind: 'Allocation', name: a.id, tenant: a.tenant, state: a.state }))],
    };
  });

  // Gateways show their health too, and may send heartbeats.
  app.get<{ Querystring: PageQuery }>('/v1/gateways', { ...needs({ subject: 'gateways', action: 'read' }), schema: routeSchemas.listGateways }, async (request) => {
    const org = request.scope.org;
    const { items: records, nextCursor } = await readNamePage(namePageOf(request.query), (page) => storeOf(request).list('Gateway', page));
    const healthByGateway = await loadGatewayHealth(sql, org, health);
    return { apiVersion: API_VERSION, kind: 'GatewayList', items: records.map((g) => gatewayDocument(g, healthByGateway)), nextCursor };
  });

  app.get<{ Params: { name: string } }>('/v1/gateways/:name', { ...needs({ subject: 'gateways', action: 'read' }), schema: routeSchemas.getGateway }, async (request, reply) => {
    const org = request.scope.org;
    const record = await storeOf(request).get('Gateway', request.params.name);
    if (record === undefined) throw notFound('Gateway', request.params.name);
    reply.header('etag', etag(record.revision));
    return gatewayDocument(record, await loadGatewayHealth(sql, org, health, [record.name]));
  });

  app.post<{ Params: { name: string } }>('/v1/gateways/:name/heartbeat', { ...needs('gateway-heartbeat'), schema: routeSchemas.gatewayHeartbeat, bodyLimit: SMALL_BODY_BYTES }, async (request) => {
    const at = await recordHeartbeat(sql, request.scope, request.params.name);
    if (at === undefined) throw notFound('Gateway', request.params.name);
    return { gateway: request.params.name, lastHeartbeatAt: at.toISOString(), ttlMs: health.heartbeatTtlMs };
  });
}

function gatewayDocument(record: StoredRecord<'Gateway'>, healthByGateway: ReadonlyMap<string, { state: string; reason: string; lastHeartbeatAt: string | null; checkedAt: string | null }>) {
  const h = healthByGateway.get(record.name);
  return { ...toDocument(record), status: { health: h?.state ?? 'unknown', reason: h?.reason ?? 'not checked yet', lastHeartbeatAt: h?.lastHeartbeatAt ?? null, checkedAt: h?.checkedAt ?? null } };
}
