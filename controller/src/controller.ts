import { formatAddress, SOFTWARE_VERSION, type Address, type Logger } from '@causeway/shared';
import { createAdminServer, type AdminRoute } from './admin-api/admin-server.ts';
import { DatabaseProbe, READINESS_DATABASE_TIMEOUT_MS } from './admin-api/readiness.ts';
import type { ControllerConfig } from './config.ts';
import { childLogger, createControllerLogger } from './log.ts';
import { createControllerMetrics } from './metrics.ts';
import { buildSnapshot, checkSnapshot, emptySnapshot, updateSnapshot, type Snapshot } from './snapshot/build-snapshot.ts';
import { connectDatabase, type Sql } from './store/database.ts';
import { migrate } from './store/migrate.ts';
import { ResourceStore } from './store/resource-store.ts';
import { Deployer } from './deployment/deployer.ts';
import { PoolStore } from './store/pool-store.ts';
import { ChangeFollower } from './sync/change-follower.ts';
import { emptyModel, type EntityState, type Model } from './sync/model.ts';
import { Coalescer } from './sync/coalescer.ts';
import { Chores, defaultChoreSettings } from './sync/chores.ts';
import { RuntimeRegistry } from './xds-server/runtime-registry.ts';
import { XdsServer } from './xds-server/xds-server.ts';

export interface ControllerOverrides {
  readonly log?: Logger;
  /** Told of every admin API route as it is registered. */
  readonly onAdminRoute?: (route: AdminRoute) => void;
  /** Config stream bounds that have no variable (tests reach them without waiting long). */
  readonly xds?: { readonly identifyTimeoutMs?: number; readonly maxPendingResponses?: number };
}

export interface Controller {
  start(): Promise<void>;
  close(): Promise<void>;
  readonly id: string;
  /** Bound addresses, known after start(). */
  readonly adminAddress: Address;
  readonly xdsAddress: Address;
  readonly sql: Sql;
}

const HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * A controller replica: store → in-memory model → pure snapshot → consistency check →
 * per-stream push, plus the admin API. Stateless: everything lives in Postgres.
 */
export function createController(config: ControllerConfig, overrides: ControllerOverrides = {}): Controller {
  const log = overrides.log ?? createControllerLogger(config.logLevel);
  const metrics = createControllerMetrics();
  const timeouts = { connectTimeoutMs: config.databaseConnectTimeoutMs, statementTimeoutMs: config.databaseStatementTimeoutMs };
  const sql = connectDatabase({ url: config.databaseUrl, poolSize: config.databasePoolSize, log, ...timeouts });
  const store = new ResourceStore(sql);
  const follower = new ChangeFollower({ sql, log: childLogger(log, 'sync'), metrics, reconcileIntervalMs: config.reconcileIntervalMs, controllerId: config.controllerId });
  // A runtime's row taken over by a newer stream on another replica: the older stream here ends.
  const registry = new RuntimeRegistry({ sql, controllerId: config.controllerId, log: childLogger(log, 'xds'), metrics, onLost: (stream) => xds.lost(stream) });
  const xds = new XdsServer({
    address: config.xdsAddress,
    controllerId: config.controllerId,
    log: childLogger(log, 'xds'),
    metrics,
    registry,
    maxConnectionAgeMs: config.xdsMaxConnectionAgeMs,
    maxStreams: config.xdsMaxStreams,
    maxMessageBytes: config.xdsMaxMessageBytes,
    ...overrides.xds,
    requestCatchUp: () => void follower.requestCatchUp('manual'),
    committedAt: (revision) => follower.committedAt(revision),
    databaseRevision: () => follower.databaseRevision,
  });
  const deployer = new Deployer({ sql, store, controllerId: config.controllerId, log: childLogger(log, 'deployment') });
  // The chores lock lives on a connection of its own, so that losing it is noticed.
  const lockSql = connectDatabase({ url: config.databaseUrl, poolSize: 1, log, ...timeouts });
  // Readiness asks on a connection of its own, so that a busy pool does not read as an outage.
  const databaseProbe = new DatabaseProbe(
    () => connectDatabase({ url: config.databaseUrl, poolSize: 1, log, connectTimeoutMs: Math.min(config.databaseConnectTimeoutMs, READINESS_DATABASE_TIMEOUT_MS), statementTimeoutMs: READINESS_DATABASE_TIMEOUT_MS }),
    (check) => metrics.databaseReachable.set(check.ok ? 1 : 0),
  );
  const chores = new Chores({
    sql,
    lockSql,
    deployer,
    log: childLogger(log, 'chores'),
    metrics,
    settings: { ...defaultChoreSettings, heartbeatTtlMs: config.gatewayHeartbeatTtlMs },
  });
  const admin = createAdminServer({
    adminToken: config.adminToken,
    log: childLogger(log, 'admin-api'),
    metrics,
    store,
    deployer,
    pools: { sql, store, pools: new PoolStore(sql, store), health: { heartbeatTtlMs: config.gatewayHeartbeatTtlMs, reportFreshnessMs: config.healthReportFreshnessMs } },
    status: {
      sql,
      controllerId: config.controllerId,
      ready: () => follower.ready,
      appliedRevision: () => follower.model.revision,
      database: () => databaseProbe.check(),
    },
    largeApplies: { maxWaiting: config.adminLargeApplyQueue, maxWaitMs: config.adminLargeApplyWaitMs },
    ...(overrides.onAdminRoute === undefined ? {} : { onRoute: overrides.onAdminRoute }),
  });
  const snapshotLog = childLogger(log, 'snapshot');
  let snapshot: Snapshot = emptySnapshot;
  /** The model `snapshot` was built from, and the entities changed since (undefined: a full load, build everything). */
  let snapshotModel: Model = emptyModel;
  let changedSince: EntityState[] | undefined = [];
  const publish = new Coalescer(config.pushHoldoffMs, config.pushMaxDelayMs, () => {
    const model = follower.model;
    const next = changedSince === undefined ? buildSnapshot(model, snapshot) : updateSnapshot(snapshotModel, model, snapshot, changedSince);
    const problems = checkSnapshot(next, model);
    if (problems.length > 0) {
      metrics.snapshotBuilds.inc({ result: 'inconsistent' });
      snapshotLog.error({ revision: model.revision, problems }, 'snapshot is inconsistent; keeping the previous one');
      return;
    }
    snapshot = next;
    snapshotModel = model;
    changedSince = [];
    metrics.snapshotBuilds.inc({ result: 'ok' });
    metrics.snapshotRevision.set(next.revision);
    xds.publish(next);
    snapshotLog.debug({ revision: next.revision, runtimes: xds.connectedRuntimes }, 'snapshot published');
  });
  follower.on('update', (update) => {
    // Past a full config's worth of changes (say, while snapshots stay inconsistent), rebuilding is as cheap.
    if (update.changed === undefined || changedSince === undefined || changedSince.length > 10_000) changedSince = undefined;
    else changedSince.push(...update.changed);
    publish.trigger();
  });

  let adminAddress: Address = config.adminAddress;
  let xdsAddress: Address = config.xdsAddress;
  let heartbeat: NodeJS.Timeout | undefined;
  const startedAt = new Date();

  async function beat(): Promise<void> {
    await sql`
      INSERT INTO controllers (id, admin_address, xds_address, version, started_at, last_heartbeat_at, applied_revision, connected_runtimes)
      VALUES (${config.controllerId}, ${formatAddress(adminAddress)}, ${formatAddress(xdsAddress)}, ${SOFTWARE_VERSION}, ${startedAt}, now(),
              ${follower.model.revision}, ${xds.connectedRuntimes})
      ON CONFLICT (id) DO UPDATE SET admin_address = excluded.admin_address, xds_address = excluded.xds_address,
        last_heartbeat_at = now(), applied_revision = excluded.applied_revision, connected_runtimes = excluded.connected_runtimes`;
  }

  return {
    id: config.controllerId,
    sql,
    get adminAddress() {
      return adminAddress;
    },
    get xdsAddress() {
      return xdsAddress;
    },
    async start() {
      // Migrations may wait for another replica's and may take long: no statement timeout.
      const migrationSql = connectDatabase({ url: config.databaseUrl, poolSize: 1, log, connectTimeoutMs: config.databaseConnectTimeoutMs, statementTimeoutMs: 0 });
      try {
        await migrate(migrationSql, childLogger(log, 'store'));
      } finally {
        await migrationSql.end({ timeout: 2 });
      }
      await admin.listen({ host: config.adminAddress.host, port: config.adminAddress.port });
      const bound = admin.server.address();
      if (typeof bound === 'object' && bound !== null) adminAddress = { host: config.adminAddress.host, port: bound.port };
      // Ready, and serving xDS, only after the first full load.
      await follower.start();
      publish.flush();
      xdsAddress = await xds.start();
      await beat();
      chores.start();
      heartbeat = setInterval(() => {
        beat().catch((error: unknown) => {
          metrics.databaseErrors.inc({ operation: 'controller_heartbeat' });
          log.warn({ err: error }, 'controller heartbeat failed');
        });
      }, HEARTBEAT_INTERVAL_MS);
      log.info(
        { controller: config.controllerId, admin: formatAddress(adminAddress), xds: formatAddress(xdsAddress), revision: follower.model.revision },
        'controller ready',
      );
    },
    async close() {
      clearInterval(heartbeat);
      publish.cancel();
      await chores.close();
      await xds.close();
      await admin.close();
      await follower.close();
      await databaseProbe.close();
      await sql.end({ timeout: 2 });
      log.info({ controller: config.controllerId }, 'controller stopped');
    },
  };
}
