import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { EnvReader, logLevels, type Address, type Env, type LogLevel } from '@causeway/shared';
import { failpointNames, type FailpointAction } from './failpoints.ts';
import { databaseTimeoutDefaults } from './store/database.ts';

export interface ControllerConfig {
  readonly databaseUrl: string;
  readonly databasePoolSize: number;
  readonly adminAddress: Address;
  readonly xdsAddress: Address;
  readonly adminToken: string;
  readonly controllerId: string;
  /** How often the change log is read without a notification. */
  readonly reconcileIntervalMs: number;
  /** A burst of changes is pushed once: after this quiet time ... */
  readonly pushHoldoffMs: number;
  /** ... or at the latest this long after the first change. */
  readonly pushMaxDelayMs: number;
  readonly xdsMaxConnectionAgeMs: number;
  /** Config streams served at once by this replica; more are refused (RESOURCE_EXHAUSTED). */
  readonly xdsMaxStreams: number;
  /** The largest message a runtime may send on its config stream. */
  readonly xdsMaxMessageBytes: number;
  /** A gateway that sends heartbeats is down once its last one is older than this. */
  readonly gatewayHeartbeatTtlMs: number;
  /** Runtime health-check reports older than this no longer count. */
  readonly healthReportFreshnessMs: number;
  /** A database connection attempt that takes longer fails: admin requests answer 503 instead of waiting. */
  readonly databaseConnectTimeoutMs: number;
  /** PostgreSQL's `statement_timeout` for the controller's sessions (0: none). */
  readonly databaseStatementTimeoutMs: number;
  /** Large applies waiting for the one being read and written; more are refused (429). */
  readonly adminLargeApplyQueue: number;
  /** How long a large apply may wait for its turn before it is refused (429). */
  readonly adminLargeApplyWaitMs: number;
  /** The admin listener's certificate and key (PEM files); undefined: plain HTTP. */
  readonly adminTls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** Failed authentications one source address may make a second before it gets 429. */
  readonly adminAuthFailuresPerSecond: number;
  /** Audit events older than this many days are pruned. */
  readonly auditRetentionDays: number;
  /** Test facility: named points that fail or kill the process (CAUSEWAY_FAILPOINTS). */
  readonly failpoints: ReadonlyMap<string, FailpointAction>;
  readonly logLevel: LogLevel;
}

/** `name=error|exit,…`, each name one the code has. */
function readFailpoints(r: EnvReader): Map<string, FailpointAction> {
  const points = new Map<string, FailpointAction>();
  for (const part of (r.optional('CAUSEWAY_FAILPOINTS') ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const [name = '', action = ''] = part.split('=');
    if (!(failpointNames as readonly string[]).includes(name) || (action !== 'error' && action !== 'exit')) {
      r.problem(`CAUSEWAY_FAILPOINTS: "${part}" is not name=error or name=exit with a name of ${failpointNames.join(', ')}`);
    } else {
      points.set(name, action);
    }
  }
  return points;
}

function readAdminTls(r: EnvReader): ControllerConfig['adminTls'] {
  const certFile = r.optional('CAUSEWAY_ADMIN_TLS_CERT');
  const keyFile = r.optional('CAUSEWAY_ADMIN_TLS_KEY');
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    r.problem('CAUSEWAY_ADMIN_TLS_CERT and CAUSEWAY_ADMIN_TLS_KEY: give both (PEM files) or neither');
    return undefined;
  }
  return { certFile, keyFile };
}

const MIN_TOKEN_LENGTH = 16;

/** Reads, checks and freezes the controller's settings; every bad variable is named. */
export function loadControllerConfig(env: Env): ControllerConfig {
  const r = new EnvReader(env);
  const databaseUrl = r.optional('CAUSEWAY_DATABASE_URL');
  if (databaseUrl === undefined) {
    r.problem('CAUSEWAY_DATABASE_URL: is required (postgres://user:password@host:5432/db; `causeway dev` starts its own database)');
  } else if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
    r.problem('CAUSEWAY_DATABASE_URL: is not a postgres:// URL');
  }
  const adminToken = r.optional('CAUSEWAY_ADMIN_TOKEN');
  if (adminToken === undefined || adminToken.length < MIN_TOKEN_LENGTH) {
    r.problem(`CAUSEWAY_ADMIN_TOKEN: is required, a secret of at least ${MIN_TOKEN_LENGTH} characters`);
  }
  const pushHoldoffMs = r.integer('CAUSEWAY_PUSH_HOLDOFF_MS', 10, 0, 5_000);
  const pushMaxDelayMs = r.integer('CAUSEWAY_PUSH_MAX_DELAY_MS', 100, 0, 30_000);
  if (pushMaxDelayMs < pushHoldoffMs) r.problem(`CAUSEWAY_PUSH_MAX_DELAY_MS: ${pushMaxDelayMs} is less than CAUSEWAY_PUSH_HOLDOFF_MS (${pushHoldoffMs})`);
  const config: ControllerConfig = {
    databaseUrl: databaseUrl ?? '',
    databasePoolSize: r.integer('CAUSEWAY_DATABASE_POOL_SIZE', 10, 2, 200),
    adminAddress: r.address('CAUSEWAY_ADMIN_ADDR', '127.0.0.1:9080'),
    xdsAddress: r.address('CAUSEWAY_XDS_ADDR', '127.0.0.1:9090'),
    adminToken: adminToken ?? '',
    controllerId: r.string('CAUSEWAY_CONTROLLER_ID', `${hostname()}-${randomBytes(3).toString('hex')}`),
    reconcileIntervalMs: r.integer('CAUSEWAY_RECONCILE_INTERVAL_MS', 1_000, 100, 2_000),
    pushHoldoffMs,
    pushMaxDelayMs,
    xdsMaxConnectionAgeMs: r.integer('CAUSEWAY_XDS_MAX_CONNECTION_AGE_MS', 1_800_000, 10_000, 86_400_000),
    xdsMaxStreams: r.integer('CAUSEWAY_XDS_MAX_STREAMS', 10_000, 1, 1_000_000),
    xdsMaxMessageBytes: r.integer('CAUSEWAY_XDS_MAX_MESSAGE_BYTES', 4_194_304, 65_536, 67_108_864),
    gatewayHeartbeatTtlMs: r.integer('CAUSEWAY_GATEWAY_HEARTBEAT_TTL_MS', 3_600_000, 1_000, 604_800_000),
    healthReportFreshnessMs: r.integer('CAUSEWAY_HEALTH_REPORT_FRESHNESS_MS', 30_000, 1_000, 3_600_000),
    databaseConnectTimeoutMs: r.integer('CAUSEWAY_DATABASE_CONNECT_TIMEOUT_MS', databaseTimeoutDefaults.connectTimeoutMs, 100, 60_000),
    databaseStatementTimeoutMs: r.integer('CAUSEWAY_DATABASE_STATEMENT_TIMEOUT_MS', databaseTimeoutDefaults.statementTimeoutMs, 0, 3_600_000),
    adminLargeApplyQueue: r.integer('CAUSEWAY_ADMIN_LARGE_APPLY_QUEUE', 4, 0, 64),
    adminLargeApplyWaitMs: r.integer('CAUSEWAY_ADMIN_LARGE_APPLY_WAIT_MS', 60_000, 1_000, 600_000),
    adminTls: readAdminTls(r),
    adminAuthFailuresPerSecond: r.integer('CAUSEWAY_ADMIN_AUTH_FAILURES_PER_SECOND', 10, 1, 1_000_000),
    auditRetentionDays: r.integer('CAUSEWAY_AUDIT_RETENTION_DAYS', 90, 1, 3_650),
    failpoints: readFailpoints(r),
    logLevel: r.oneOf('CAUSEWAY_LOG_LEVEL', 'info', logLevels),
  };
  r.done();
  return Object.freeze(config);
}
