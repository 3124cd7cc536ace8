import { formatAddress, type Address, type Logger } from '@causeway/shared';
import { createAdminServer, type AdminRoute } from './admin-api/admin-server.ts';
import { DatabaseProbe, READINESS_DATABASE_TIMEOUT_MS } from './admin-api/readiness.ts';
import type { ControllerConfig } from './config.ts';
import { ControllerHeartbeat } from './controller-heartbeat.ts';
import { Deployer } from './deployment/deployer.ts';
import { Allocator } from './allocation/allocator.ts';
import { childLogger, createControllerLogger } from './log.ts';
import { createControllerMetrics, type ControllerMetrics } from './metrics.ts';
import { Publisher } from './snapshot/publisher.ts';
import { connectDatabase, type DatabaseOptions, type Sql } from './store/database.ts';
import { migrate } from './store/migrate.ts';
import { adminAccessOptions, readAdminTls } from './admin-api/access-wiring.ts';
import { TokenUseRecorder } from './access/token-use-recorder.ts';
import { configureFailpoints } from './failpoints.ts';
import { RuntimeStatusRecorder } from './store/runtime-status-recorder.ts';
import { ChangeFollower } from './sync/change-follower.ts';
import { Chores, defaultChoreSettings } from './sync/chores.ts';
import { XdsServer } from './xds-server/xds-server.ts';
import { ConfigStreamSecurity } from './identity/config-stream-security.ts';

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

/**
 * The config pipeline: store → change follower (in-memory model) → publisher (snapshot,
 * checked) → xDS server (per-stream push); what streams do is recorded in the store.
 */
function createPipeline(config: ControllerConfig, sql: Sql, log: Logger, metrics: ControllerMetrics, overrides: ControllerOverrides) {
  const { controllerId } = config;
  const follower = new ChangeFollower({ sql, log: childLogger(log, 'sync'), metrics, reconcileIntervalMs: config.reconcileIntervalMs, controllerId });
  const publisher = new Publisher({ follower, log: childLogger(log, 'snapshot'), metrics, holdoffMs: config.pushHoldoffMs, maxDelayMs: config.pushMaxDelayMs });
  const runtimeStatus = new RuntimeStatusRecorder({ sql, controllerId, log: childLogger(log, 'xds'), metrics });
  const security = new ConfigStreamSecurity({ config, sql, log: childLogger(log, 'identity'), metrics });
  const xds = new XdsServer({
    address: config.xdsAddress,
    controllerId,
    log: childLogger(log, 'xds'),
    metrics,
    source: publisher,
    callbacks: runtimeStatus,
    maxConnectionAgeMs: config.xdsMaxConnectionAgeMs,
    maxStreams: config.xdsMaxStreams,
    maxMessageBytes: config.xdsMaxMessageBytes,
    ...(security.tls === undefined ? {} : { tls: security.tls }),
    services: [security.service],
    revocations: () => follower.model.access.revocations,
    ...overrides.xds,
  });
  follower.on('update', (update) => {
    publisher.modelChanged(update);
    // A revoked runtime's stream ends as soon as this replica reads the revocation.
    xds.revocationsChanged(update.model.access.revocations);
  });
  publisher.on('snapshot', (snapshot) => xds.publish(snapshot));
  // A runtime's row taken over by a newer stream on another replica: the older stream here ends.
  runtimeStatus.on('lost', (stream) => xds.lost(stream));
  return { follower, publisher, runtimeStatus, xds, security };
}

/**
 * A controller replica: the config pipeline, the admin API, the singleton chores and a
 * heartbeat. Stateless: everything lives in Postgres.
 */
export function createController(config: ControllerConfig, overrides: ControllerOverrides = {}): Controller {
  const log = overrides.log ?? createControllerLogger(config.logLevel);
  const metrics = createControllerMetrics();
  const { controllerId } = config;
  const connect = (poolSize: number, timeouts: Partial<Pick<DatabaseOptions, 'connectTimeoutMs' | 'statementTimeoutMs'>> = {}): Sql =>
    connectDatabase({ url: config.databaseUrl, poolSize, log, connectTimeoutMs: config.databaseConnectTimeoutMs, statementTimeoutMs: config.databaseStatementTimeoutMs, ...timeouts });
  configureFailpoints(config.failpoints);
  const sql = connect(config.databasePoolSize);
  const { follower, publisher, runtimeStatus, xds, security } = createPipeline(config, sql, log, metrics, overrides);
  const deployer = new Deployer({ sql, controllerId, log: childLogger(log, 'deployment') });
  const allocator = new Allocator({
    sql, controllerId, log: childLogger(log, 'allocation'), metrics, settings: config.allocation,
    health: { heartbeatTtlMs: config.gatewayHeartbeatTtlMs, reportFreshnessMs: config.healthReportFreshnessMs },
  });
  const tokenUses = new TokenUseRecorder(sql, childLogger(log, 'admin-api'));
  // The chores lock lives on a connection of its own, so that losing it is noticed.
  const settings = { ...defaultChoreSettings, heartbeatTtlMs: config.gatewayHeartbeatTtlMs, auditRetentionDays: config.auditRetentionDays };
  // Often enough that an allocation whose replica died is taken over, and rolled back, within 2 × its lease.
  const choresIntervalMs = Math.min(2_000, Math.floor(config.allocation.leaseMs / 4));
  const chores = new Chores({ sql, lockSql: connect(1), deployer, allocator, controllerId, log: childLogger(log, 'chores'), metrics, settings, intervalMs: choresIntervalMs });
  // Readiness asks on a connection of its own, so that a busy pool does not read as an outage.
  const databaseProbe = new DatabaseProbe(
    () => connect(1, { connectTimeoutMs: Math.min(config.databaseConnectTimeoutMs, READINESS_DATABASE_TIMEOUT_MS), statementTimeoutMs: READINESS_DATABASE_TIMEOUT_MS }),
    (check) => metrics.databaseReachable.set(check.ok ? 1 : 0),
  );
  const admin = createAdminServer({
    access: adminAccessOptions(config, sql, () => follower.model.access, tokenUses, metrics, childLogger(log, 'admin-api')),
    log: childLogger(log, 'admin-api'),
    metrics,
    sql,
    deployer,
    allocator,
    tls: readAdminTls(config),
    caughtUpTo: (revision) => follower.caughtUpTo(revision),
    pools: { sql, health: { heartbeatTtlMs: config.gatewayHeartbeatTtlMs, reportFreshnessMs: config.healthReportFreshnessMs } },
    status: { sql, controllerId, ready: () => follower.ready, appliedRevision: () => follower.model.revision, database: () => databaseProbe.check(), configStream: () => security.readiness() },
    largeApplies: { maxWaiting: config.adminLargeApplyQueue, maxWaitMs: config.adminLargeApplyWaitMs },
    ...(overrides.onAdminRoute === undefined ? {} : { onRoute: overrides.onAdminRoute }),
  });
  let adminAddress: Address = config.adminAddress;
  let xdsAddress: Address = config.xdsAddress;
  const heartbeat = new ControllerHeartbeat({ sql, controllerId, log, metrics, state: () => ({ adminAddress, xdsAddress, appliedRevision: follower.model.revision, connectedRuntimes: xds.connectedRuntimes }) });

  return {
    id: controllerId,
    sql,
    get adminAddress() {
      return adminAddress;
    },
    get xdsAddress() {
      return xdsAddress;
    },
    async start() {
      // Certificate files are checked before anything listens: a bad one stops start-up.
      await security.start();
      // Migrations may wait for another replica's and may take long: no statement timeout.
      const migrationSql = connect(1, { statementTimeoutMs: 0 });
      await migrate(migrationSql, childLogger(log, 'store')).finally(() => migrationSql.end({ timeout: 2 }));
      await admin.listen({ host: config.adminAddress.host, port: config.adminAddress.port });
      const bound = admin.server.address();
      if (typeof bound === 'object' && bound !== null) adminAddress = { host: config.adminAddress.host, port: bound.port };
      // Ready, and serving xDS, only after the first full load.
      await follower.start();
      publisher.flush();
      await deployer.start();
      await allocator.start();
      xdsAddress = await xds.start();
      await heartbeat.start();
      tokenUses.start();
      chores.start();
      log.info({ controller: controllerId, admin: formatAddress(adminAddress), xds: formatAddress(xdsAddress), revision: follower.model.revision }, 'controller ready');
    },
    async close() {
      heartbeat.close();
      publisher.close();
      await chores.close();
      await xds.close();
      security.close();
      await runtimeStatus.flush();
      await admin.close();
      await tokenUses.close();
      await allocator.close();
      await deployer.close();
      await follower.close();
      await databaseProbe.close();
      await sql.end({ timeout: 2 });
      log.info({ controller: controllerId }, 'controller stopped');
    },
  };
}
