import type { FastifyInstance } from 'fastify';
import type { Sql } from '../store/database.ts';
import type { ControllerMetrics } from '../metrics.ts';
import { API_VERSION } from './validate.ts';
import { publicRoute } from './access.ts';
import type { ReadinessCheck } from './readiness.ts';

export interface StatusSources {
  readonly sql: Sql;
  readonly controllerId: string;
  /** True after the first full load of the store. */
  ready(): boolean;
  appliedRevision(): number;
  /** Whether the database answers (cached: cheap to call). */
  database(): Promise<ReadinessCheck>;
}

interface RuntimeRow {
  node_id: string;
  zone: string;
  labels: Record<string, string>;
  version: string;
  controller_id: string | null;
  connected: boolean;
  connected_at: Date | null;
  last_seen_at: Date;
  applied_revision: number;
  acked_revision: number;
  last_nack_revision: number | null;
  last_nack_type: string | null;
  last_nack_error: string | null;
  last_nack_at: Date | null;
}

function runtimeDocument(row: RuntimeRow) {
  return {
    nodeId: row.node_id,
    zone: row.zone,
    labels: row.labels,
    version: row.version,
    controller: row.controller_id,
    connected: row.connected,
    connectedAt: row.connected_at?.toISOString() ?? null,
    lastSeenAt: row.last_seen_at.toISOString(),
    appliedRevision: row.applied_revision,
    ackedRevision: row.acked_revision,
    lastNack:
      row.last_nack_revision === null
        ? null
        : { revision: row.last_nack_revision, type: row.last_nack_type, error: row.last_nack_error, at: row.last_nack_at?.toISOString() ?? null },
  };
}

/** Health, readiness, metrics, and who is connected where. */
export function registerStatusRoutes(app: FastifyInstance, status: StatusSources, metrics: ControllerMetrics): void {
  app.get('/healthz', publicRoute, async () => ({ status: 'ok' }));

  // Ready to take admin requests: loaded, and the database answers. Runtimes' streams do
  // not depend on it: xDS serves from memory while the database is away.
  app.get('/readyz', publicRoute, async (_request, reply) => {
    const load: ReadinessCheck = status.ready() ? { ok: true } : { ok: false, reason: 'the first full load is not done' };
    const database = await status.database();
    const checks = { load, database };
    const failed = Object.entries(checks).flatMap(([name, check]) => (check.ok ? [] : [name]));
    reply.code(failed.length === 0 ? 200 : 503);
    return { status: failed.length === 0 ? 'ready' : 'not_ready', controller: status.controllerId, revision: status.appliedRevision(), failed, checks };
  });

  app.get('/metrics', publicRoute, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get('/v1/runtimes', async () => {
    const rows = await status.sql<RuntimeRow[]>`SELECT * FROM runtimes ORDER BY node_id`;
    return { apiVersion: API_VERSION, kind: 'RuntimeList', items: rows.map(runtimeDocument) };
  });

  app.get('/v1/controllers', async () => {
    const rows = await status.sql<{ id: string; admin_address: string; xds_address: string; version: string; started_at: Date; last_heartbeat_at: Date; applied_revision: number; connected_runtimes: number }[]>`
      SELECT * FROM controllers ORDER BY id`;
    return {
      apiVersion: API_VERSION,
      kind: 'ControllerList',
      items: rows.map((r) => ({
        id: r.id,
        adminAddress: r.admin_address,
        xdsAddress: r.xds_address,
        version: r.version,
        startedAt: r.started_at.toISOString(),
        lastHeartbeatAt: r.last_heartbeat_at.toISOString(),
        appliedRevision: r.applied_revision,
        connectedRuntimes: r.connected_runtimes,
      })),
    };
  });
}
