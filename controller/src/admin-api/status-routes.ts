import type { FastifyInstance } from 'fastify';
import { CONTROLLER_ALIVE_MS } from '../controller-heartbeat.ts';
import { listControllers } from '../store/controllers.ts';
import type { Sql } from '../store/database.ts';
import { listRuntimes, type RuntimeRecord } from '../store/runtime-status.ts';
import type { ControllerMetrics } from '../metrics.ts';
import { API_VERSION } from './validate.ts';
import { needs, publicRoute } from './access.ts';
import type { ReadinessCheck } from './readiness.ts';
import { routeSchemas } from './route-schemas.ts';

export interface StatusSources {
  readonly sql: Sql;
  readonly controllerId: string;
  /** True after the first full load of the store. */
  ready(): boolean;
  appliedRevision(): number;
  /** Whether the database answers (cached: cheap to call). */
  database(): Promise<ReadinessCheck>;
  /** Whether the config stream is served over TLS, and warnings (insecure mode, certificates about to expire). */
  configStream(): { readonly tls: boolean; readonly warnings: readonly string[] };
}

/** `newest`: the newest revision this replica has read from the log; lag is counted from it. */
function runtimeDocument(runtime: RuntimeRecord, newest: number) {
  return {
    nodeId: runtime.nodeId,
    org: runtime.org,
    zone: runtime.zone,
    labels: runtime.labels,
    identity: runtime.certificate === null ? 'claimed' : 'certificate',
    certificate: runtime.certificate === null ? null : { serial: runtime.certificate.serial, expiresAt: runtime.certificate.expiresAt?.toISOString() ?? null },
    revoked: runtime.revoked,
    version: runtime.version,
    controller: runtime.controllerId,
    connected: runtime.connected,
    connectedAt: runtime.connectedAt?.toISOString() ?? null,
    lastSeenAt: runtime.lastSeenAt.toISOString(),
    appliedRevision: runtime.appliedRevision,
    ackedRevision: runtime.ackedRevision,
    // A runtime of a replica that read the log a moment sooner may be ahead: that is no lag.
    lag: Math.max(0, newest - runtime.appliedRevision),
    lastNack: runtime.lastNack === null ? null : { ...runtime.lastNack, at: runtime.lastNack.at?.toISOString() ?? null },
  };
}

/** Health, readiness, metrics, and who is connected where. */
export function registerStatusRoutes(app: FastifyInstance, status: StatusSources, metrics: ControllerMetrics): void {
  app.get('/healthz', { ...publicRoute, schema: routeSchemas.healthz }, async () => ({ status: 'ok' }));

  // Ready to take admin requests: loaded, and the database answers. Runtimes' streams do
  // not depend on it: xDS serves from memory while the database is away. Warnings (the
  // config stream without TLS, a certificate about to expire) do not make it unready.
  app.get('/readyz', { ...publicRoute, schema: routeSchemas.readyz }, async (_request, reply) => {
    const load: ReadinessCheck = status.ready() ? { ok: true } : { ok: false, reason: 'the first full load is not done' };
    const database = await status.database();
    const checks = { load, database };
    const failed = Object.entries(checks).flatMap(([name, check]) => (check.ok ? [] : [name]));
    const { tls, warnings } = status.configStream();
    reply.code(failed.length === 0 ? 200 : 503);
    return { status: failed.length === 0 ? 'ready' : 'not_ready', controller: status.controllerId, revision: status.appliedRevision(), failed, checks, configStream: { tls }, warnings };
  });

  app.get('/metrics', { ...publicRoute, schema: routeSchemas.metrics }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  // An org sees the runtimes that serve it: its own and the shared ones; a system administrator sees all.
  app.get('/v1/runtimes', { ...needs({ subject: 'runtimes', action: 'read' }), schema: routeSchemas.listRuntimes }, async (request) => {
    const runtimes = await listRuntimes(status.sql, request.principal.systemAdmin ? undefined : request.scope.org);
    return { apiVersion: API_VERSION, kind: 'RuntimeList', items: runtimes.map((r) => runtimeDocument(r, status.appliedRevision())) };
  });

  app.get('/v1/controllers', { ...needs({ subject: 'controllers', action: 'read' }), schema: routeSchemas.listControllers }, async () => {
    const controllers = await listControllers(status.sql);
    const now = Date.now();
    return {
      apiVersion: API_VERSION,
      kind: 'ControllerList',
      items: controllers.map((c) => ({
        ...c,
        startedAt: c.startedAt.toISOString(),
        lastHeartbeatAt: c.lastHeartbeatAt.toISOString(),
        alive: now - c.lastHeartbeatAt.getTime() < CONTROLLER_ALIVE_MS,
      })),
    };
  });
}
