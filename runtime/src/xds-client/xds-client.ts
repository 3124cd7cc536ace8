import { create } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import {
  credentials,
  makeGenericClientConstructor,
  status as GrpcStatus,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  type StatusObject,
} from '@grpc/grpc-js';
import { addOrder, formatAddress, grpcServiceDefinition, PROTOCOL_VERSION, SOFTWARE_VERSION, typeUrls, type Address, type Logger } from '@causeway/shared';
import {
  DiscoveryRequestSchema,
  DiscoveryService,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import type { MemberReport } from '../health/member-tracker.ts';
import type { RuntimeMetrics } from '../metrics.ts';
import { Backoff, defaultBackoff, type BackoffOptions } from './backoff.ts';
import type { ConfigTarget } from './config-target.ts';

const serviceDefinition = grpcServiceDefinition(DiscoveryService);
const DiscoveryClient = makeGenericClientConstructor(serviceDefinition, 'DiscoveryService');
const streamMethod = serviceDefinition.streamResources;
if (streamMethod === undefined) throw new Error('DiscoveryService has no StreamResources method');

const channelOptions: Partial<ChannelOptions> = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  // Reconnection is paced by our own backoff with a fresh client per attempt; a shared
  // subchannel would carry grpc-js's own backoff (1 s and up) from the previous client.
  'grpc.use_local_subchannel_pool': 1,
  // A full sync is split by the controller, but a large cluster set still needs room.
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

/** A member state change is reported this soon (changes in between go in the same report). */
const healthReportDelayMs = 200;

interface NodeIdentity {
  readonly id: string;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface XdsClientOptions {
  readonly controllers: readonly Address[];
  readonly node: NodeIdentity;
  readonly target: ConfigTarget;
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  readonly backoff?: BackoffOptions;
  /** Heartbeat report period; default 5 s. */
  readonly reportIntervalMs?: number;
  /**
   * A stream counts as established after its first response, or after it stayed open
   * this long once the connection was up (a controller with nothing new sends nothing;
   * one that refuses the runtime does so within milliseconds). Default 1 s.
   */
  readonly establishAfterMs?: number;
  readonly random?: () => number;
  /** Called when the client becomes connected or disconnected. */
  readonly onConnectionChange?: (connected: boolean) => void;
}

interface Session {
  readonly controller: string;
  readonly client: Client;
  readonly call: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  established: boolean;
  reportTimer: NodeJS.Timeout | undefined;
  establishTimer: NodeJS.Timeout | undefined;
}

/**
 * The runtime's side of the discovery stream: connects to the controllers in turn,
 * subscribes to every resource type with what it holds, applies responses one by one
 * in arrival order, and answers each with an ACK or a NACK.
 */
export class XdsClient {
  private readonly options: XdsClientOptions;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private session: Session | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private index = 0;
  private started = false;
  private closing = false;
  /** Failed attempts since the last established stream, to log a streak once. */
  private failures = 0;
  private lastRefusal: string | undefined;
  /** The newest revision a controller said was committed in the database. */
  private databaseRevision = 0n;
  private healthReportTimer: NodeJS.Timeout | undefined;

  constructor(options: XdsClientOptions) {
    this.options = options;
    this.log = options.log;
    this.backoff = new Backoff(options.backoff ?? defaultBackoff, options.random);
  }

  /** The controller of the established stream, if any. */
  get controller(): string | undefined {
    return this.session?.established === true ? this.session.controller : undefined;
  }

  get connected(): boolean {
    return this.session?.established === true;
  }

  start(): void {
    if (this.started || this.options.controllers.length === 0) return;
    this.started = true;
    this.connect();
  }

  /**
   * A member changed state: report within `healthReportDelayMs` (not on every change, so
   * a burst of changes makes one report), besides the periodic report.
   */
  /** The (cluster, member) pairs of the last report, to tell when they change. */
  private reportedMembers = '';

  healthChanged(): void {
    if (this.healthReportTimer !== undefined || this.session === undefined) return;
    this.healthReportTimer = setTimeout(() => {
      this.healthReportTimer = undefined;
      if (this.session !== undefined) this.report(this.session);
    }, healthReportDelayMs);
    this.healthReportTimer.unref();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.healthReportTimer);
    const session = this.session;
    if (session !== undefined) {
      this.session = undefined;
      this.teardown(session);
      if (session.established) this.options.onConnectionChange?.(false);
    }
  }

  private connect(): void {
    const address = this.options.controllers[this.index % this.options.controllers.length];
    if (address === undefined || streamMethod === undefined) return;
    const controller = formatAddress(address);
    const client = new DiscoveryClient(controller, credentials.createInsecure(), channelOptions);
    const call = client.makeBidiStreamRequest<DiscoveryRequest, DiscoveryResponse>(
      streamMethod.path,
      streamMethod.requestSerialize,
      streamMethod.responseDeserialize,
    );
    const session: Session = { controller, client, call, established: false, reportTimer: undefined, establishTimer: undefined };
    this.session = session;
    call.on('data', (response: DiscoveryResponse) => this.onResponse(session, response));
    call.on('status', (status: StatusObject) => this.onStatus(session, status));
    // Errors also arrive as a status; this listener only keeps them from being unhandled.
    call.on('error', () => undefined);
    this.subscribe(session);
    session.reportTimer = setInterval(() => this.report(session), this.options.reportIntervalMs ?? 5_000);
    session.reportTimer.unref();
    client.waitForReady(Date.now() + 60_000, (error) => {
      if (error !== undefined || this.session !== session || session.established) return;
      session.establishTimer = setTimeout(() => this.establish(session), this.options.establishAfterMs ?? 1_000);
      session.establishTimer.unref();
    });
    this.log.debug({ controller }, 'opening config stream');
  }

  /** One request per type, clusters first; the first one says who this runtime is. */
  private subscribe(session: Session): void {
    const { node, target } = this.options;
    addOrder.forEach((kind, i) => {
      const subscription = {
        typeUrl: typeUrls[kind],
        initialResourceVersions: target.versions(kind),
        appliedRevision: target.revision,
      };
      const identity = {
        id: node.id,
        zone: node.zone,
        labels: { ...node.labels },
        version: SOFTWARE_VERSION,
        protocolVersion: PROTOCOL_VERSION,
      };
      session.call.write(create(DiscoveryRequestSchema, i === 0 ? { ...subscription, node: identity } : subscription));
    });
  }

  private establish(session: Session): void {
    clearTimeout(session.establishTimer);
    if (session.established || this.session !== session) return;
    session.established = true;
    this.failures = 0;
    this.lastRefusal = undefined;
    this.log.info({ controller: session.controller, revision: this.options.target.revision.toString() }, 'connected to controller');
    this.options.onConnectionChange?.(true);
  }

  private onResponse(session: Session, response: DiscoveryResponse): void {
    if (this.session !== session) return;
    this.establish(session);
    const outcome = this.options.target.apply(response);
    const revision = this.options.target.revision;
    if (response.databaseRevision > this.databaseRevision) this.databaseRevision = response.databaseRevision;
    this.options.metrics.replicationLag.set(this.databaseRevision > revision ? Number(this.databaseRevision - revision) : 0);
    const fields = { controller: session.controller, controllerId: response.controllerId, type: outcome.kind ?? response.typeUrl };
    if (outcome.ok) {
      session.call.write(create(DiscoveryRequestSchema, { typeUrl: response.typeUrl, responseNonce: response.nonce, appliedRevision: revision }));
      this.log.info(
        { ...fields, revision: outcome.revision.toString(), upserts: outcome.upserts, removals: outcome.removals },
        'config applied',
      );
      // The ACK carries the applied revision; a report follows only when the members in
      // use changed (their health is then news), not after every apply.
      if (this.memberSignature() !== this.reportedMembers) this.report(session);
      return;
    }
    session.call.write(
      create(DiscoveryRequestSchema, {
        typeUrl: response.typeUrl,
        responseNonce: response.nonce,
        appliedRevision: revision,
        errorDetail: { code: GrpcStatus.INVALID_ARGUMENT, message: outcome.message },
      }),
    );
    this.log.warn(
      { ...fields, revision: response.revision.toString(), appliedRevision: revision.toString(), reason: outcome.message },
      'config rejected (NACK)',
    );
  }

  private memberSignature(members: readonly MemberReport[] = this.options.target.memberReports()): string {
    return members.map((m) => `${m.cluster}\u0000${m.member}`).join('\u0001');
  }

  private report(session: Session): void {
    if (this.session !== session) return;
    const appliedRevision = this.options.target.revision;
    const members = this.options.target.memberReports();
    this.reportedMembers = this.memberSignature(members);
    session.call.write(
      create(DiscoveryRequestSchema, {
        typeUrl: '',
        appliedRevision,
        report: { appliedRevision, sentAt: timestampNow(), members },
      }),
    );
  }

  private onStatus(session: Session, status: StatusObject): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.teardown(session);
    if (this.closing) return;
    const fields = { controller: session.controller, code: GrpcStatus[status.code], details: status.details };
    if (session.established) {
      this.log.warn(fields, 'controller stream ended');
      this.options.onConnectionChange?.(false);
      this.backoff.reset();
    } else if (status.code === GrpcStatus.FAILED_PRECONDITION) {
      if (this.lastRefusal !== status.details) {
        this.log.error(fields, 'controller refused this runtime: incompatible versions');
        this.lastRefusal = status.details;
      }
      this.failures++;
    } else {
      if (this.failures === 0) this.log.warn(fields, 'cannot reach controller; trying the next one');
      else this.log.debug(fields, 'cannot reach controller; trying the next one');
      this.failures++;
    }
    this.index = (this.index + 1) % this.options.controllers.length;
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.options.metrics.xdsReconnects.inc();
      this.connect();
    }, delay);
  }

  private teardown(session: Session): void {
    clearInterval(session.reportTimer);
    clearTimeout(session.establishTimer);
    session.call.removeAllListeners('data');
    session.call.cancel();
    session.client.close();
  }
}
