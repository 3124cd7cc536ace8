import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { formatAddress, type Address, type Logger } from '@causeway/shared';
import type { DiscoveryResponse } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import { createAdminServer, type ReadinessStatus } from './admin/admin-server.ts';
import { configDump } from './admin/config-dump.ts';
import { ConfigCache } from './cache/config-cache.ts';
import type { RuntimeConfig } from './config.ts';
import { childLogger, createRuntimeLogger } from './log.ts';
import { createRuntimeMetrics, type RuntimeMetrics } from './metrics.ts';
import { createProxyServer } from './proxy/proxy-server.ts';
import { AddressGuard } from './upstreams/address-guard.ts';
import { ConfigApplier } from './config-applier.ts';
import type { Resources } from './resources/resources.ts';
import type { ApplyOutcome } from './xds-client/config-target.ts';
import type { OutlierSettings } from './health/outlier.ts';
import type { BackoffOptions } from './xds-client/backoff.ts';
import { XdsClient } from './xds-client/xds-client.ts';
import type { KeyFetchSettings } from './policies/issuer-keys.ts';
import { createClientIdentity, type ClientIdentity, type IdentityStatus } from './identity/client-identity.ts';

export interface RuntimeOverrides {
  readonly logger?: Logger;
  /** false: no config stream; tests feed responses through `applyResponse`. Default true. */
  readonly connectToControllers?: boolean;
  readonly backoff?: BackoffOptions;
  readonly reportIntervalMs?: number;
  readonly establishAfterMs?: number;
  readonly random?: () => number;
  /** How long close() lets in-flight requests finish before cutting connections. Default 10 s. */
  readonly shutdownGraceMs?: number;
  /** Outlier detection numbers; default 5 failures, 30 s base, 300 s cap, 50 % share. */
  readonly outlier?: OutlierSettings;
  /** How long to wait after a controller denied access or refused a certificate; default 5 min. */
  readonly refusedRetryMs?: number;
  /** How often certificate and CA files are checked for changes; default 5 s. */
  readonly certificatePollMs?: number;
  /** How JWT issuers' key sets are fetched and kept; default: 10 s cooldown, 10 min max age (policies/issuer-keys.ts). */
  readonly keyFetch?: KeyFetchSettings;
}

export interface RuntimeStatus extends ReadinessStatus {
  /** The controller of the established config stream, if any. */
  readonly controller: string | undefined;
}

export interface Runtime {
  /** Reads the cache (if configured), listens on both ports, connects to the controllers. */
  start(): Promise<void>;
  /** Stops the config stream, lets in-flight requests finish, closes every listener and pool. */
  close(): Promise<void>;
  /** The bound proxy address (the real port when configured with port 0); after start(). */
  readonly proxyAddress: Address;
  /** The bound admin address; after start(). */
  readonly adminAddress: Address;
  /** Applies one discovery response exactly as the config stream does. */
  applyResponse(response: DiscoveryResponse): ApplyOutcome;
  status(): RuntimeStatus;
  /** The resources in force. */
  readonly resources: Resources;
  readonly metrics: RuntimeMetrics;
}

function listen(server: Server, address: Address): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function boundAddress(server: Server, name: string): Address {
  const info = server.address() as AddressInfo | string | null;
  if (info === null || typeof info === 'string') throw new Error(`the ${name} listener is not listening`);
  return { host: info.address, port: info.port };
}

/** The part of an http.Server that shutting down uses (whatever its request/response types). */
interface HttpListener extends Server {
  closeAllConnections(): void;
  closeIdleConnections(): void;
}

function closeServer(server: HttpListener, graceMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

interface Parts {
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  readonly applier: ConfigApplier;
  /** Set by start(): the TLS modes load their X.509 code only when used. */
  identity: ClientIdentity | undefined;
}

const defaultRefusedRetryMs = 300_000;

function createConfigClient(config: RuntimeConfig, overrides: RuntimeOverrides, parts: Parts): XdsClient {
  const { log, metrics, applier } = parts;
  return new XdsClient({
    controllers: config.controllers,
    // With a certificate, the controller takes the labels from it: the stream claims the same.
    node: {
      id: config.nodeId,
      zone: config.zone,
      get labels() {
        return parts.identity?.labels() ?? config.nodeLabels;
      },
    },
    target: applier,
    log: childLogger(log, 'xds-client'),
    metrics,
    credentials: () => parts.identity?.credentials(),
    onCertificateRejected: () => parts.identity?.certificateRejected(),
    refusedRetryMs: overrides.refusedRetryMs ?? defaultRefusedRetryMs,
    ...(overrides.random && { random: overrides.random }),
    ...(overrides.backoff && { backoff: overrides.backoff }),
    ...(overrides.reportIntervalMs !== undefined && { reportIntervalMs: overrides.reportIntervalMs }),
    ...(overrides.establishAfterMs !== undefined && { establishAfterMs: overrides.establishAfterMs }),
    onConnectionChange: (connected) => {
      metrics.controllerConnected.set(connected ? 1 : 0);
      if (connected) applier.confirm();
    },
  });
}

/** The controllers to ask for a certificate: the one streaming config first. */
function orderedControllers(controllers: readonly Address[], connected: string | undefined): string[] {
  const all = controllers.map(formatAddress);
  return connected === undefined ? all : [connected, ...all.filter((c) => c !== connected)];
}

function noIdentityYet(config: RuntimeConfig): IdentityStatus {
  return { mode: config.xdsSecurity.mode, certificate: undefined, refusal: undefined, problem: undefined, lastError: undefined };
}

function createAdmin(config: RuntimeConfig, { log, metrics, applier }: Parts, status: () => RuntimeStatus): HttpServer {
  return createAdminServer({
    log: childLogger(log, 'admin'),
    registry: metrics.registry,
    readiness: status,
    configDump: () =>
      configDump({
        nodeId: config.nodeId,
        zone: config.zone,
        resources: applier.resources,
        source: applier.source,
        controller: status().controller,
        memberHealth: (cluster, member, url) => applier.memberHealth(cluster, member, url),
        dtcHealth: (zone) => applier.health.dtc.describe(zone),
      }),
  });
}

export function createRuntime(config: RuntimeConfig, overrides: RuntimeOverrides = {}): Runtime {
  const log = overrides.logger ?? createRuntimeLogger(config.logLevel);
  const metrics = createRuntimeMetrics();
  const cache = config.cacheDir === undefined ? undefined : new ConfigCache(config.cacheDir, childLogger(log, 'cache'));
  const random = overrides.random ?? Math.random;
  const guard = new AddressGuard({
    cidrs: config.upstreamDenyCidrs,
    log: childLogger(log, 'upstreams'),
    onDenied: () => metrics.upstreamConnectsDenied.inc(),
  });
  const applier = new ConfigApplier({
    zone: config.zone,
    maxRequestTimeoutMs: config.maxRequestTimeoutMs,
    metrics,
    log: childLogger(log, 'config'),
    cache,
    random,
    ...(overrides.outlier && { outlier: overrides.outlier }),
    ...(overrides.keyFetch && { keyFetch: overrides.keyFetch }),
    connector: guard.connector,
    // Runs on config applies and health events, all after createRuntime returned and `xds` exists.
    onMemberChange: () => xds.healthChanged(),
  });
  const parts: Parts = { log, metrics, applier, identity: undefined };
  const xds = createConfigClient(config, overrides, parts);
  const proxy = createProxyServer({
    serving: () => applier.serving,
    ready: () => applier.source !== 'none',
    hopKeys: () => applier.hopKeys,
    metrics,
    log: childLogger(log, 'proxy'),
    random,
    now: Date.now,
    zone: config.zone,
    upstreams: applier.health,
    limits: config.clientLimits,
    counters: {
      bodyTimeouts: metrics.clientTimeouts.labels('body'),
      sendTimeouts: metrics.clientTimeouts.labels('send'),
      bodiesTooLarge: metrics.requestBodiesTooLarge,
    },
  });
  const status = (): RuntimeStatus => ({
    revision: applier.revision,
    source: applier.source,
    connected: xds.connected,
    controller: xds.controller,
    security: parts.identity?.status() ?? noIdentityYet(config),
    accessDenied: xds.accessDenied,
    streamFailure: xds.failure,
  });
  const admin = createAdmin(config, parts, status);
  const graceMs = overrides.shutdownGraceMs ?? 10_000;
  let closing: Promise<void> | undefined;

  async function startIdentity(): Promise<void> {
    const identity = await createClientIdentity(config.xdsSecurity, {
      expected: { nodeId: config.nodeId, zone: config.zone },
      cacheDir: config.cacheDir,
      log: childLogger(log, 'identity'),
      metrics,
      controllers: () => orderedControllers(config.controllers, xds.controller),
      onChange: () => xds.credentialsChanged(),
      refusedRetryMs: overrides.refusedRetryMs ?? defaultRefusedRetryMs,
      filePollMs: overrides.certificatePollMs ?? 5_000,
    });
    await identity.start();
    parts.identity = identity;
    if (config.xdsSecurity.mode === 'insecure') {
      log.warn('the config stream is plaintext and unauthenticated (CAUSEWAY_XDS_INSECURE=true): use it only on a trusted network');
    }
  }

  async function start(): Promise<void> {
    if (overrides.connectToControllers !== false) await startIdentity();
    if (await applier.loadCache()) {
      log.info({ revision: applier.revision.toString(), file: cache?.file }, 'serving config from cache until a controller answers');
    }
    try {
      await listen(proxy, config.listen);
      await listen(admin, config.adminListen);
    } catch (error) {
      await close();
      throw error;
    }
    if (overrides.connectToControllers !== false) xds.start();
    log.info(
      {
        proxy: formatAddress(boundAddress(proxy, 'proxy')),
        admin: formatAddress(boundAddress(admin, 'admin')),
        controllers: config.controllers.map(formatAddress),
        nodeId: config.nodeId,
        zone: config.zone,
      },
      'runtime started',
    );
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      parts.identity?.close();
      await xds.close();
      await Promise.all([closeServer(proxy, graceMs), closeServer(admin, 0)]);
      await applier.close();
      log.info('runtime stopped');
    })();
    return closing;
  }

  return {
    start,
    close,
    get proxyAddress() {
      return boundAddress(proxy, 'proxy');
    },
    get adminAddress() {
      return boundAddress(admin, 'admin');
    },
    applyResponse: (response) => applier.apply(response),
    status,
    get resources() {
      return applier.resources;
    },
    metrics,
  };
}
