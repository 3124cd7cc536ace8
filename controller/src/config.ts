import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { EnvReader, hostProblem, logLevels, type Address, type Env, type LogLevel } from '@causeway/shared';
import { failpointNames, parseFailpoint, type FailpointSetting } from './failpoints.ts';
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
  /**
   * How runtimes reach the config stream: `tls` (the serving certificate and key, the CA
   * that client certificates must chain to, and its key when this replica signs them), or
   * `insecure` (plaintext, no identity: CAUSEWAY_XDS_INSECURE=true, said at start and in /readyz).
   */
  readonly xdsSecurity: XdsSecurity;
  /** Lifetime of the client certificates this replica signs for runtimes. */
  readonly runtimeCertLifetimeMs: number;
  /** Failed authentications one source address may make a second before it gets 429. */
  readonly adminAuthFailuresPerSecond: number;
  /** Audit events older than this many days are pruned. */
  readonly auditRetentionDays: number;
  /** Test facility: named points that fail or kill the process (CAUSEWAY_FAILPOINTS). */
  readonly failpoints: ReadonlyMap<string, FailpointSetting>;
  /** Dedicated gateway allocations: the tenants' domain, the lease, the time-outs of two steps. */
  readonly allocation: {
    readonly tenantDomain: string;
    readonly leaseMs: number;
    readonly convergeTimeoutMs: number;
    readonly handshakeTimeoutMs: number;
  };
  readonly logLevel: LogLevel;
}

type XdsSecurity =
  | { readonly mode: 'tls'; readonly certFile: string; readonly keyFile: string; readonly caCertFile: string; readonly caKeyFile: string | undefined }
  | { readonly mode: 'insecure' };

const TLS_VARIABLES = 'CAUSEWAY_XDS_TLS_CERT, CAUSEWAY_XDS_TLS_KEY and CAUSEWAY_CA_CERT';

/**
 * TLS unless the operator says otherwise, explicitly: without the TLS files the config
 * stream is not served at all, unless CAUSEWAY_XDS_INSECURE=true.
 */
function readXdsSecurity(r: EnvReader): XdsSecurity {
  const insecure = r.boolean('CAUSEWAY_XDS_INSECURE', false);
  const certFile = r.optional('CAUSEWAY_XDS_TLS_CERT');
  const keyFile = r.optional('CAUSEWAY_XDS_TLS_KEY');
  const caCertFile = r.optional('CAUSEWAY_CA_CERT');
  const caKeyFile = r.optional('CAUSEWAY_CA_KEY');
  const given = [certFile, keyFile, caCertFile, caKeyFile].some((v) => v !== undefined);
  if (insecure) {
    if (given) r.problem(`CAUSEWAY_XDS_INSECURE: is true while TLS files are given (${TLS_VARIABLES}, CAUSEWAY_CA_KEY); choose one`);
    return { mode: 'insecure' };
  }
  if (certFile === undefined || keyFile === undefined || caCertFile === undefined) {
    r.problem(
      `${TLS_VARIABLES}: are required to serve runtimes over TLS (PEM files; \`causeway certs init --dir DIR\` writes them), ` +
        'with CAUSEWAY_CA_KEY to sign runtime certificates; or set CAUSEWAY_XDS_INSECURE=true to serve the config stream without TLS',
    );
    return { mode: 'insecure' };
  }
  return { mode: 'tls', certFile, keyFile, caCertFile, caKeyFile };
}

/** `name=error|exit|N*error,…`, each name one the code has. */
function readFailpoints(r: EnvReader): Map<string, FailpointSetting> {
  const points = new Map<string, FailpointSetting>();
  for (const part of (r.optional('CAUSEWAY_FAILPOINTS') ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const point = parseFailpoint(part);
    if (point === undefined) {
      r.problem(`CAUSEWAY_FAILPOINTS: "${part}" is not name=error, name=exit or name=N*error with a name of ${failpointNames.join(', ')}`);
    } else {
      points.set(point.name, point.setting);
    }
  }
  return points;
}

/** A tenant's host is `<tenant>.<domain>`: the domain leaves room for a 32-character tenant. */
function readAllocation(r: EnvReader): ControllerConfig['allocation'] {
  const tenantDomain = r.string('CAUSEWAY_TENANT_DOMAIN', 'tenants.localhost');
  if (hostProblem(tenantDomain) !== undefined || tenantDomain.length > 220) {
    r.problem(`CAUSEWAY_TENANT_DOMAIN: "${tenantDomain.slice(0, 64)}" is not a lowercase domain name of at most 220 characters`);
  }
  return {
    tenantDomain,
    leaseMs: r.integer('CAUSEWAY_ALLOCATION_LEASE_MS', 10_000, 1_000, 300_000),
    convergeTimeoutMs: r.integer('CAUSEWAY_ALLOCATION_CONVERGE_TIMEOUT_MS', 30_000, 100, 600_000),
    handshakeTimeoutMs: r.integer('CAUSEWAY_ALLOCATION_HANDSHAKE_TIMEOUT_MS', 5_000, 100, 120_000),
  };
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
    xdsSecurity: readXdsSecurity(r),
    runtimeCertLifetimeMs: r.integer('CAUSEWAY_RUNTIME_CERT_LIFETIME_MS', 86_400_000, 10_000, 31_536_000_000),
    adminAuthFailuresPerSecond: r.integer('CAUSEWAY_ADMIN_AUTH_FAILURES_PER_SECOND', 10, 1, 1_000_000),
    auditRetentionDays: r.integer('CAUSEWAY_AUDIT_RETENTION_DAYS', 90, 1, 3_650),
    failpoints: readFailpoints(r),
    allocation: readAllocation(r),
    logLevel: r.oneOf('CAUSEWAY_LOG_LEVEL', 'info', logLevels),
  };
  r.done();
  return Object.freeze(config);
}
