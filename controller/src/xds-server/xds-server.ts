import { EventEmitter } from 'node:events';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { formatAddress, type Address, type Logger } from '@causeway/shared';
import type { DiscoveryRequest } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import type { ControllerMetrics } from '../metrics.ts';
import type { Snapshot } from '../snapshot/build-snapshot.ts';
import { discoveryServiceDefinition } from './encode-response.ts';
import type { RuntimeRegistry } from './runtime-registry.ts';
import { StreamSession, type SessionEvent } from './stream-session.ts';

export interface XdsServerOptions {
  readonly address: Address;
  readonly controllerId: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly registry: RuntimeRegistry;
  /** After this long a connection is closed gracefully, so runtimes spread across replicas again. */
  readonly maxConnectionAgeMs: number;
  readonly requestCatchUp: () => void;
  readonly committedAt: (revision: number) => number | undefined;
  readonly databaseRevision: () => number;
}

/** The gRPC discovery service: one StreamSession per connected runtime. */
export class XdsServer extends EventEmitter<{ event: [SessionEvent] }> {
  private readonly options: XdsServerOptions;
  private readonly server: Server;
  private readonly sessions = new Set<StreamSession>();
  private snapshot: Snapshot | undefined;
  private bound: Address | undefined;

  constructor(options: XdsServerOptions) {
    super();
    this.options = options;
    this.server = new Server({
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
      'grpc.max_connection_age_ms': options.maxConnectionAgeMs,
      'grpc.max_connection_age_grace_ms': 5_000,
    });
    this.server.addService(discoveryServiceDefinition(), {
      streamResources: (call: ServerDuplexStream<DiscoveryRequest, Uint8Array>) => this.accept(call),
    });
  }

  get address(): Address | undefined {
    return this.bound;
  }

  get connectedRuntimes(): number {
    return this.sessions.size;
  }

  async start(): Promise<Address> {
    const { host, port } = this.options.address;
    const boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(formatAddress({ host, port }), ServerCredentials.createInsecure(), (error, p) =>
        error === null ? resolve(p) : reject(error),
      );
    });
    this.bound = { host, port: boundPort };
    this.options.log.info({ address: formatAddress(this.bound) }, 'xDS server listening');
    return this.bound;
  }

  /** A new snapshot: every session sends its runtime the difference. */
  publish(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    for (const session of this.sessions) session.push();
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.close();
    await this.options.registry.flush();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2_000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private accept(call: ServerDuplexStream<DiscoveryRequest, Uint8Array>): void {
    const session = new StreamSession(
      call,
      {
        controllerId: this.options.controllerId,
        log: this.options.log,
        metrics: this.options.metrics,
        registry: this.options.registry,
        currentSnapshot: () => this.snapshot,
        requestCatchUp: this.options.requestCatchUp,
        committedAt: this.options.committedAt,
        databaseRevision: this.options.databaseRevision,
      },
      (event) => this.emit('event', event),
    );
    this.sessions.add(session);
    this.options.metrics.connectedRuntimes.set(this.sessions.size);
    const finish = (): void => {
      if (!this.sessions.delete(session)) return;
      session.close();
      this.options.metrics.connectedRuntimes.set(this.sessions.size);
    };
    call.on('data', (request: DiscoveryRequest) => session.handle(request));
    call.on('end', () => {
      finish();
      call.end();
    });
    call.on('error', finish);
    call.on('cancelled', finish);
    call.on('close', finish);
  }
}
