import { hostname } from 'node:os';
import {
  EnvReader,
  isSlug,
  labelKeyPattern,
  labelValuePattern,
  logLevels,
  MAX_NODE_LABELS,
  MAX_REQUEST_TIMEOUT_MS,
  nodeIdPattern,
  slugRule,
  type Address,
  type Env,
  type LogLevel,
} from '@causeway/shared';
import { defaultClientLimits, type ClientLimits } from './proxy/client-limits.ts';
import { parseCidr, type Cidr } from './upstreams/address-guard.ts';

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
  /** Timeouts and body size limit of proxy clients (`CAUSEWAY_CLIENT_*`, `CAUSEWAY_MAX_REQUEST_BODY_BYTES`). */
  readonly clientLimits: ClientLimits;
  /** Upstream addresses never connected to (`CAUSEWAY_UPSTREAM_DENY_CIDRS`); empty: none denied. */
  readonly upstreamDenyCidrs: readonly Cidr[];
  readonly logLevel: LogLevel;
  /** How the config stream is secured and who this runtime is to the controllers. */
  readonly xdsSecurity: XdsSecurity;
}

/**
 * How the runtime reaches the controllers: over TLS with a certificate the controller
 * issues for a join token, over TLS with certificate files of the operator's own PKI,
 * or in plaintext when an operator says so explicitly.
 */
export type XdsSecurity =
  | { readonly mode: 'insecure' }
  | { readonly mode: 'token'; readonly caCertFile: string; readonly joinToken: string }
  | { readonly mode: 'files'; readonly caCertFile: string; readonly certFile: string; readonly keyFile: string };

/** Join tokens are short; this only bounds what is sent. */
const maxJoinTokenLength = 1024;

function readXdsSecurity(env: EnvReader): XdsSecurity {
  const insecure = env.boolean('CAUSEWAY_XDS_INSECURE', false);
  const caCertFile = env.optional('CAUSEWAY_CA_CERT');
  const joinToken = env.optional('CAUSEWAY_RUNTIME_TOKEN');
  const certFile = env.optional('CAUSEWAY_TLS_CERT');
  const keyFile = env.optional('CAUSEWAY_TLS_KEY');
  const given = [
    ['CAUSEWAY_CA_CERT', caCertFile],
    ['CAUSEWAY_RUNTIME_TOKEN', joinToken],
    ['CAUSEWAY_TLS_CERT', certFile],
    ['CAUSEWAY_TLS_KEY', keyFile],
  ].flatMap(([name, value]) => (value === undefined ? [] : [name]));
  if (insecure) {
    if (given.length > 0) env.problem(`CAUSEWAY_XDS_INSECURE: "true" together with ${given.join(', ')}: choose plaintext or TLS`);
    return { mode: 'insecure' };
  }
  const tlsSettings = 'set CAUSEWAY_CA_CERT and either CAUSEWAY_RUNTIME_TOKEN or CAUSEWAY_TLS_CERT and CAUSEWAY_TLS_KEY (or CAUSEWAY_XDS_INSECURE=true for plaintext)';
  if (caCertFile === undefined) {
    env.problem(`CAUSEWAY_CA_CERT: not set; the config stream is served over TLS only: ${tlsSettings}`);
  } else if (joinToken !== undefined && (certFile !== undefined || keyFile !== undefined)) {
    env.problem('CAUSEWAY_RUNTIME_TOKEN: given together with CAUSEWAY_TLS_CERT/CAUSEWAY_TLS_KEY: join with a token or use certificate files, not both');
  } else if (joinToken !== undefined) {
    if (joinToken.length > maxJoinTokenLength || /\s/.test(joinToken)) env.problem(`CAUSEWAY_RUNTIME_TOKEN: not a join token (no whitespace, at most ${maxJoinTokenLength} characters)`);
    return { mode: 'token', caCertFile, joinToken };
  } else if (certFile !== undefined && keyFile !== undefined) {
    return { mode: 'files', caCertFile, certFile, keyFile };
  } else if (certFile !== undefined || keyFile !== undefined) {
    env.problem(`${certFile === undefined ? 'CAUSEWAY_TLS_CERT' : 'CAUSEWAY_TLS_KEY'}: not set; certificate files need both CAUSEWAY_TLS_CERT and CAUSEWAY_TLS_KEY`);
  } else {
    env.problem(`CAUSEWAY_RUNTIME_TOKEN: not set, nor CAUSEWAY_TLS_CERT and CAUSEWAY_TLS_KEY: ${tlsSettings}`);
  }
  return { mode: 'insecure' };
}


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
  if (Object.keys(labels).length > MAX_NODE_LABELS) env.problem(`${name}: more than ${MAX_NODE_LABELS} labels`);
  return labels;
}

/**
 * The link-local ranges, with the cloud metadata address 169.254.169.254 (AWS's IPv6
 * endpoint fd00:ec2::254 is outside them: operators add it where it applies).
 */
const defaultDenyCidrs = '169.254.0.0/16,fe80::/10';

function readDenyCidrs(env: EnvReader, name: string): Cidr[] {
  const raw = env.string(name, defaultDenyCidrs).trim();
  if (raw === 'none') return [];
  const cidrs: Cidr[] = [];
  for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const cidr = parseCidr(part);
    if (cidr === undefined) env.problem(`${name}: "${part}" is not an IPv4 or IPv6 address with an optional /prefix (or "none")`);
    else cidrs.push(cidr);
  }
  return cidrs;
}

const hourMs = 3_600_000;

function readClientLimits(env: EnvReader): ClientLimits {
  const d = defaultClientLimits;
  const limits: ClientLimits = {
    headerTimeoutMs: env.integer('CAUSEWAY_CLIENT_HEADER_TIMEOUT_MS', d.headerTimeoutMs, 100, hourMs),
    requestTimeoutMs: env.integer('CAUSEWAY_CLIENT_REQUEST_TIMEOUT_MS', d.requestTimeoutMs, 0, 24 * hourMs),
    keepAliveTimeoutMs: env.integer('CAUSEWAY_CLIENT_KEEPALIVE_TIMEOUT_MS', d.keepAliveTimeoutMs, 100, hourMs),
    bodyTimeoutMs: env.integer('CAUSEWAY_CLIENT_BODY_TIMEOUT_MS', d.bodyTimeoutMs, 100, hourMs),
    sendTimeoutMs: env.integer('CAUSEWAY_CLIENT_SEND_TIMEOUT_MS', d.sendTimeoutMs, 100, hourMs),
    maxRequestBodyBytes: env.integer('CAUSEWAY_MAX_REQUEST_BODY_BYTES', d.maxRequestBodyBytes, 0, Number.MAX_SAFE_INTEGER),
  };
  // Node refuses a header timeout longer than a (non-zero) request timeout.
  if (limits.requestTimeoutMs !== 0 && limits.requestTimeoutMs < limits.headerTimeoutMs) {
    env.problem(
      `CAUSEWAY_CLIENT_REQUEST_TIMEOUT_MS: "${limits.requestTimeoutMs}" is shorter than CAUSEWAY_CLIENT_HEADER_TIMEOUT_MS (${limits.headerTimeoutMs}); 0 means no limit`,
    );
  }
  return Object.freeze(limits);
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
  // The controller accepts timeouts up to the shared maximum; a runtime may allow less, never more.
  const maxRequestTimeoutMs = reader.integer('CAUSEWAY_MAX_REQUEST_TIMEOUT_MS', MAX_REQUEST_TIMEOUT_MS, 1, MAX_REQUEST_TIMEOUT_MS);
  const clientLimits = readClientLimits(reader);
  const upstreamDenyCidrs = readDenyCidrs(reader, 'CAUSEWAY_UPSTREAM_DENY_CIDRS');
  const logLevel = reader.oneOf('CAUSEWAY_LOG_LEVEL', 'info', logLevels);
  const xdsSecurity = readXdsSecurity(reader);
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
    clientLimits,
    upstreamDenyCidrs: Object.freeze(upstreamDenyCidrs.map((c) => Object.freeze(c))),
    logLevel,
    xdsSecurity: Object.freeze(xdsSecurity),
  });
}
