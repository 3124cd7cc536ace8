import { hostname } from 'node:os';
import {
  EnvReader,
  isSlug,
  logLevels,
  slugRule,
  type Address,
  type Env,
  type LogLevel,
} from '@causeway/shared';

/** Everything the runtime reads from its environment, validated and frozen. */
export interface RuntimeConfig {
  /** Where API traffic is served (`CAUSEWAY_LISTEN_ADDR`). */
  readonly listen: Address;
  /** The admin listener: health, readiness, metrics, config dump (`CAUSEWAY_RUNTIME_ADMIN_ADDR`). */
  readonly adminListen: Address;
  /** Controllers to stream config from, tried in this order (`CAUSEWAY_CONTROLLERS`). */
  readonly controllers: readonly Address[];
  readonly zone: string;
  readonly nodeId: string;
  readonly nodeLabels: Readonly<Record<string, string>>;
  /** Where the last applied config is kept; undefined disables the cache. */
  readonly cacheDir: string | undefined;
  /** Operator guardrail: an Api asking for a longer request timeout is rejected. */
  readonly maxRequestTimeoutMs: number;
  readonly logLevel: LogLevel;
}

const labelKeyPattern = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const labelValuePattern = /^[A-Za-z0-9._/-]{0,63}$/;
const nodeIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function readLabels(env: EnvReader, name: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const raw = env.optional(name);
  if (raw === undefined) return labels;
  for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const key = eq === -1 ? part : part.slice(0, eq).trim();
    const value = eq === -1 ? '' : part.slice(eq + 1).trim();
    if (eq === -1 || !labelKeyPattern.test(key) || !labelValuePattern.test(value)) {
      env.problem(
        `${name}: "${part}" is not key=value (key: letters, digits, '.', '_', '/', '-', max 63; value: the same, may be empty)`,
      );
    } else if (Object.hasOwn(labels, key)) {
      env.problem(`${name}: label "${key}" is given twice`);
    } else {
      labels[key] = value;
    }
  }
  return labels;
}

/**
 * The default node id is `<hostname>-<listen port>`: stable across restarts (so the
 * controller sees the same runtime come back) and unique per machine. When the proxy
 * listens on port 0 the port is not known in advance and the process id is used instead.
 */
function defaultNodeId(listen: Address, host: string): string {
  const safeHost = host.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'runtime';
  return `${safeHost}-${listen.port === 0 ? `pid${process.pid}` : String(listen.port)}`;
}

/**
 * Reads the runtime's configuration. Every bad variable is reported at once in a
 * ConfigError naming it; nothing listens before this succeeded.
 */
export function loadRuntimeConfig(env: Env = process.env, machineName: string = hostname()): RuntimeConfig {
  const reader = new EnvReader(env);
  const listen = reader.address('CAUSEWAY_LISTEN_ADDR', '127.0.0.1:8080');
  const adminListen = reader.address('CAUSEWAY_RUNTIME_ADMIN_ADDR', '127.0.0.1:9901');
  const controllers = reader.addressList('CAUSEWAY_CONTROLLERS', '127.0.0.1:9090');
  const zone = reader.string('CAUSEWAY_ZONE', 'default');
  if (!isSlug(zone)) reader.problem(`CAUSEWAY_ZONE: "${zone}" is not a slug (${slugRule})`);
  const nodeId = reader.string('CAUSEWAY_NODE_ID', defaultNodeId(listen, machineName));
  if (!nodeIdPattern.test(nodeId)) {
    reader.problem(`CAUSEWAY_NODE_ID: "${nodeId}" is not an id (letters, digits, '.', '_', ':', '-', max 128)`);
  }
  const nodeLabels = readLabels(reader, 'CAUSEWAY_NODE_LABELS');
  const cacheDir = reader.optional('CAUSEWAY_CACHE_DIR');
  const maxRequestTimeoutMs = reader.integer('CAUSEWAY_MAX_REQUEST_TIMEOUT_MS', 300_000, 1, 86_400_000);
  const logLevel = reader.oneOf('CAUSEWAY_LOG_LEVEL', 'info', logLevels);
  if (listen.port !== 0 && listen.port === adminListen.port && listen.host === adminListen.host) {
    reader.problem(
      `CAUSEWAY_RUNTIME_ADMIN_ADDR: "${adminListen.host}:${adminListen.port}" is the same address as CAUSEWAY_LISTEN_ADDR`,
    );
  }
  reader.done();
  return Object.freeze({
    listen: Object.freeze(listen),
    adminListen: Object.freeze(adminListen),
    controllers: Object.freeze(controllers.map((c) => Object.freeze(c))),
    zone,
    nodeId,
    nodeLabels: Object.freeze(nodeLabels),
    cacheDir,
    maxRequestTimeoutMs,
    logLevel,
  });
}
