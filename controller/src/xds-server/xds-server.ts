import {
  experimental,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type ServerDuplexStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { CausewayError, formatAddress, type Address, type Logger } from '@causeway/shared';
import type { DiscoveryRequest } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import { peerCertificate, type PeerCertificate } from '../identity/peer-certificate.ts';
import type { ControllerMetrics } from '../metrics.ts';
import type { RevocationRecord } from '../store/access-tables.ts';
import type { Snapshot } from '../snapshot/build-snapshot.ts';
import { discoveryServiceDefinition } from './encode-response.ts';
import type { SnapshotSource } from './snapshot-source.ts';
import type { RuntimeIdentity, RuntimeStream, StreamCallbacks } from './stream-callbacks.ts';
import { StreamSession, type SessionContext } from './stream-session.ts';

export interface XdsServerOptions {
  readonly address: Address;
  readonly controllerId: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  /** What is served. */
  readonly source: SnapshotSource;
  /** Told what each stream does (connects, ACKs, NACKs, reports, ends). */
  readonly callbacks: StreamCallbacks;
  /** After this long a connection is closed gracefully, so runtimes spread across replicas again. */
  readonly maxConnectionAgeMs: number;
  /** Streams served at once; more are refused with RESOURCE_EXHAUSTED. */
  readonly maxStreams: number;
  /** The largest message a runtime may send; larger ones end its stream. */
  readonly maxMessageBytes: number;
  /** Default IDENTIFY_TIMEOUT_MS. */
  readonly identifyTimeoutMs?: number;
  /** Default MAX_PENDING_RESPONSES. */
  readonly maxPendingResponses?: number;
  /**
   * TLS: the serving certificate and the CA bundle client certificates must chain to (one
   * provider for both, re-read when the files change). Undefined: plaintext, and a runtime
   * is whoever its first request says (CAUSEWAY_XDS_INSECURE=true).
   */
  readonly tls?: experimental.CertificateProvider;
  /** Served on the same listener (the identity service). */
  readonly services?: readonly ExtraService[];
  /** Revoked runtimes, as this replica's model holds them. */
  readonly revocations: () => ReadonlyMap<string, RevocationRecord>;
}

/** A service served on the config stream's listener, beside the discovery service. */
export interface ExtraService {
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
}

/** Streams one HTTP/2 connection may carry at once. */
const MAX_STREAMS_PER_CONNECTION = 16;

/** A stream that has not said which runtime it is within this time is closed. */
const IDENTIFY_TIMEOUT_MS = 10_000;

/**
 * The gRPC discovery service: one StreamSession per connected runtime, at most one per
 * node id (the newest wins, the older stream is closed).
 */
export class XdsServer {
  private readonly options: XdsServerOptions;
  private readonly server: Server;
  private readonly sessions = new Set<StreamSession>();
  private readonly owners = new Map<string, StreamSession>();
  /** Connection times are unique per replica: they tell a runtime's streams apart in its row. */
  private lastConnectedAt = 0;
  private refusing = false;
  private bound: Address | undefined;
  private revocationsSeen: ReadonlyMap<string, RevocationRecord> = new Map();
  private deniedSerials: ReadonlySet<string> = new Set();

  constructor(options: XdsServerOptions) {
    this.options = options;
    this.server = new Server({
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
      'grpc.max_connection_age_ms': options.maxConnectionAgeMs,
      'grpc.max_connection_age_grace_ms': 5_000,
      'grpc.max_receive_message_length': options.maxMessageBytes,
      // A runtime needs one stream per connection; more on one connection are refused.
      'grpc.max_concurrent_streams': MAX_STREAMS_PER_CONNECTION,
    });
    this.server.addService(discoveryServiceDefinition(), {
      streamResources: (call: ServerDuplexStream<DiscoveryRequest, Uint8Array>) => this.accept(call),
    });
    for (const service of options.services ?? []) this.server.addService(service.definition, service.implementation);
  }

  get address(): Address | undefined {
    return this.bound;
  }

  get connectedRuntimes(): number {
    return this.sessions.size;
  }

  async start(): Promise<Address> {
    const { host, port } = this.options.address;
    const tls = this.options.tls;
    // A client certificate is asked for, not required: a runtime joins without one; a stream needs one.
    // One provider for both roles: grpc-js 1.14 passes this function's two providers to its
    // constructor in the other order, so two different ones would be swapped.
    const credentials = tls === undefined ? ServerCredentials.createInsecure() : experimental.createCertificateProviderServerCredentials(tls, tls, false);
    const boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(formatAddress({ host, port }), credentials, (error, p) =>
        error === null ? resolve(p) : reject(error),
      );
    });
    this.bound = { host, port: boundPort };
    this.options.log.info({ address: formatAddress(this.bound), tls: tls !== undefined }, 'xDS server listening');
    return this.bound;
  }

  /** A new snapshot is the source's current one: every session sends its runtime the difference. */
  publish(snapshot: Snapshot): void {
    for (const session of this.sessions) session.push();
    this.options.log.debug({ revision: snapshot.revision, runtimes: this.sessions.size }, 'snapshot published');
  }

  /** The model's revocations changed (compared by identity): the streams of revoked runtimes end at once. */
  revocationsChanged(revocations: ReadonlyMap<string, RevocationRecord>): void {
    if (revocations === this.revocationsSeen) return;
    this.revocationsSeen = revocations;
    this.deniedSerials = new Set([...revocations.values()].flatMap((r) => r.serials));
    for (const session of this.sessions) {
      const identity = session.runtime;
      const refusal = identity === undefined ? undefined : this.refusal(identity);
      if (refusal !== undefined) session.fail(refusal);
    }
  }

  /** A revoked runtime (by node id, or by the serial of its certificate) may not stream. */
  private refusal(identity: RuntimeIdentity): CausewayError | undefined {
    this.revocationsChanged(this.options.revocations());
    const serial = identity.certificate?.serial;
    const revoked = this.revocationsSeen.get(identity.nodeId) ?? (serial !== undefined && this.deniedSerials.has(serial) ? { revokedAt: undefined } : undefined);
    if (revoked === undefined) return undefined;
    const when = revoked.revokedAt === undefined ? '' : ` at ${revoked.revokedAt.toISOString()}`;
    return new CausewayError(
      'permission_denied',
      `runtime "${identity.nodeId}" was revoked${when}: it may not stream, renew or join again until an administrator readmits it (DELETE /v1/runtimes/${identity.nodeId}/revocation)`,
    );
  }

  /** The row of a runtime now belongs to a newer stream on another replica: the older stream here is closed. */
  lost(stream: RuntimeStream): void {
    const session = this.owners.get(stream.nodeId);
    if (session?.connectedAt.getTime() !== stream.connectedAt.getTime()) return;
    session.fail(new CausewayError('conflict', `a newer stream of runtime "${stream.nodeId}" connected to another controller; this one is closed`));
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.close();
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
    if (this.sessions.size >= this.options.maxStreams) {
      this.refuseOverCap(call);
      return;
    }
    let certified: PeerCertificate | undefined;
    if (this.options.tls !== undefined) {
      certified = peerCertificate(call);
      if (certified === undefined) {
        this.refuse(call, 'no_certificate', GrpcStatus.UNAUTHENTICATED, "a client certificate signed by this deployment's CA, not expired, is required to stream config (a runtime gets one with a join token)");
        return;
      }
    }
    const session = new StreamSession(call, this.sessionContext(), this.nextConnectedAt(), certified);
    this.sessions.add(session);
    this.options.metrics.connectedRuntimes.set(this.sessions.size);
    const identifyTimeoutMs = this.options.identifyTimeoutMs ?? IDENTIFY_TIMEOUT_MS;
    const identifyTimer = setTimeout(() => {
      if (session.nodeId === undefined) session.fail(new CausewayError('request_timeout', `no node identity within ${identifyTimeoutMs} ms`));
    }, identifyTimeoutMs);
    identifyTimer.unref();
    const finish = (): void => {
      clearTimeout(identifyTimer);
      if (!this.sessions.delete(session)) return;
      session.close();
      this.options.metrics.connectedRuntimes.set(this.sessions.size);
      if (this.refusing && this.sessions.size < this.options.maxStreams) {
        this.refusing = false;
        this.options.log.info({ streams: this.sessions.size }, 'accepting new config streams again');
      }
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

  /** Past the stream cap: RESOURCE_EXHAUSTED (the runtime tries another replica), logged once until back under it. */
  private refuseOverCap(call: ServerDuplexStream<DiscoveryRequest, Uint8Array>): void {
    if (!this.refusing) {
      this.refusing = true;
      this.options.log.warn({ maxStreams: this.options.maxStreams }, 'config stream limit reached; refusing new streams');
    }
    this.refuse(call, 'max_streams', GrpcStatus.RESOURCE_EXHAUSTED, `this controller serves ${this.options.maxStreams} streams already (CAUSEWAY_XDS_MAX_STREAMS)`);
  }

  private refuse(call: ServerDuplexStream<DiscoveryRequest, Uint8Array>, reason: string, code: GrpcStatus, details: string): void {
    this.options.metrics.streamsRefused.inc({ reason });
    call.on('error', () => undefined);
    call.emit('error', { code, details });
  }

  private nextConnectedAt(): Date {
    this.lastConnectedAt = Math.max(Date.now(), this.lastConnectedAt + 1);
    return new Date(this.lastConnectedAt);
  }

  private sessionContext(): SessionContext {
    return {
      controllerId: this.options.controllerId,
      log: this.options.log,
      metrics: this.options.metrics,
      source: this.options.source,
      callbacks: this.options.callbacks,
      ...(this.options.maxPendingResponses !== undefined && { maxPendingResponses: this.options.maxPendingResponses }),
      claim: (session) => this.claim(session),
      refusal: (identity) => this.refusal(identity),
      release: (session) => {
        const nodeId = session.nodeId;
        if (nodeId === undefined || this.owners.get(nodeId) !== session) return false;
        this.owners.delete(nodeId);
        return true;
      },
    };
  }

  /** Two live streams with the same node id: the newer wins, the older is closed. */
  private claim(session: StreamSession): void {
    const nodeId = session.nodeId;
    if (nodeId === undefined) return;
    const previous = this.owners.get(nodeId);
    this.owners.set(nodeId, session);
    if (previous === undefined || previous === session) return;
    this.options.log.warn({ node: nodeId, previousConnectedAt: previous.connectedAt.toISOString() }, 'a newer stream of a connected runtime arrived; closing the older one');
    previous.fail(new CausewayError('conflict', `a newer stream of runtime "${nodeId}" connected; this one is closed`));
  }
}
