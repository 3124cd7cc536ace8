import {
  credentials as grpcCredentials,
  makeGenericClientConstructor,
  status as GrpcStatus,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  type StatusObject,
} from '@grpc/grpc-js';
import { formatAddress, grpcServiceDefinition, type Logger } from '@causeway/shared';
import { DiscoveryService, type DiscoveryRequest, type DiscoveryResponse } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import { Backoff, defaultBackoff } from './backoff.ts';
import { ackRequest, memberSignature, nackRequest, reportRequest, subscriptions } from './discovery-requests.ts';
import type { XdsClientOptions } from './xds-client-options.ts';

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

interface Session {
  readonly controller: string;
  readonly client: Client;
  readonly call: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  established: boolean;
  reportTimer: NodeJS.Timeout | undefined;
  establishTimer: NodeJS.Timeout | undefined;
}

const plaintext = (): ChannelCredentials => grpcCredentials.createInsecure();

/**
 * The runtime's side of the discovery stream: connects to the controllers in turn,
 * subscribes to every resource type with what it holds, applies responses one by one
 * in arrival order, and answers each with an ACK or a NACK. New credentials (a renewed
 * certificate) open a new stream before the old one is closed.
 */
export class XdsClient {
  private readonly options: XdsClientOptions;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private session: Session | undefined;
  /** The established stream being replaced by `session` (new credentials); it still counts as connected. */
  private replaced: Session | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private index = 0;
  private started = false;
  private closing = false;
  /** No credentials were there at the last attempt: `credentialsChanged` connects. */
  private waiting = false;
  /** Failed attempts since the last established stream, to log a streak once. */
  private failures = 0;
  private lastRefusal: string | undefined;
  /** The controller denied this runtime access (PERMISSION_DENIED): its message, until a stream is up again. */
  private denied: string | undefined;
  /** Why the last attempt failed, while not connected. */
  private lastFailure: string | undefined;
  /** The newest revision a controller said was committed in the database. */
  private databaseRevision = 0n;
  private healthReportTimer: NodeJS.Timeout | undefined;
  /** The (cluster, member) pairs of the last report, to tell when they change. */
  private reportedMembers = '';

  constructor(options: XdsClientOptions) {
    this.options = options;
    this.log = options.log;
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff(options.backoff ?? defaultBackoff, this.random);
  }

  /** The controller of the established stream, if any. */
  get controller(): string | undefined {
    return this.session?.established === true ? this.session.controller : this.replaced?.controller;
  }

  get connected(): boolean {
    return this.session?.established === true || this.replaced !== undefined;
  }

  /** The controller's message when it denied this runtime access (e.g. revoked); cleared by the next stream that is up. */
  get accessDenied(): string | undefined {
    return this.denied;
  }

  /** Why the last attempt to stream failed, while not connected. */
  get failure(): string | undefined {
    return this.connected ? undefined : this.lastFailure;
  }

  start(): void {
    if (this.started || this.options.controllers.length === 0) return;
    this.started = true;
    this.connect();
  }

  /**
   * New credentials are ready: connect if the client was waiting for them, or move the
   * stream to them: the new stream opens (a delta from what is held) before the old one
   * closes, and the runtime counts as connected throughout.
   */
  credentialsChanged(): void {
    if (!this.started || this.closing) return;
    const current = this.session;
    if (current === undefined) {
      if (this.waiting) this.connect();
      return;
    }
    this.session = undefined;
    if (current.established && this.replaced === undefined) this.replaced = current;
    else this.teardown(current);
    this.log.info({ controller: current.controller }, 'moving the config stream to new credentials');
    this.connect();
  }

  /**
   * A member changed state: report within `healthReportDelayMs` (not on every change, so
   * a burst of changes makes one report), besides the periodic report.
   */
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
    const wasConnected = this.connected;
    for (const session of [this.session, this.replaced]) if (session !== undefined) this.teardown(session);
    this.session = this.replaced = undefined;
    if (wasConnected) this.options.onConnectionChange?.(false);
  }

  private connect(): void {
    const address = this.options.controllers[this.index % this.options.controllers.length];
    if (address === undefined || streamMethod === undefined) return;
    const credentials = (this.options.credentials ?? plaintext)();
    this.waiting = credentials === undefined;
    if (credentials === undefined) {
      this.log.debug('no client certificate yet; the config stream waits for one');
      return;
    }
    const controller = formatAddress(address);
    const client = new DiscoveryClient(controller, credentials, channelOptions);
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
    for (const request of subscriptions(this.options.node, this.options.target)) call.write(request);
    session.reportTimer = setInterval(() => this.report(session), this.options.reportIntervalMs ?? 5_000);
    session.reportTimer.unref();
    client.waitForReady(Date.now() + 60_000, (error) => {
      if (error !== undefined || this.session !== session || session.established) return;
      session.establishTimer = setTimeout(() => this.establish(session), this.options.establishAfterMs ?? 1_000);
      session.establishTimer.unref();
    });
    this.log.debug({ controller }, 'opening config stream');
  }

  private establish(session: Session): void {
    clearTimeout(session.establishTimer);
    if (session.established || this.session !== session) return;
    session.established = true;
    this.failures = 0;
    this.lastRefusal = this.denied = this.lastFailure = undefined;
    const replaced = this.replaced;
    this.replaced = undefined;
    const fields = { controller: session.controller, revision: this.options.target.revision.toString() };
    if (replaced !== undefined) {
      this.teardown(replaced);
      this.log.info(fields, 'config stream moved to new credentials');
      return;
    }
    this.log.info(fields, 'connected to controller');
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
      session.call.write(ackRequest(response.typeUrl, response.nonce, revision));
      this.log.info(
        { ...fields, revision: outcome.revision.toString(), upserts: outcome.upserts, removals: outcome.removals },
        'config applied',
      );
      // The ACK carries the applied revision; a report follows only when the members in
      // use changed (their health is then news), not after every apply.
      if (memberSignature(this.options.target.memberReports()) !== this.reportedMembers) this.report(session);
      return;
    }
    session.call.write(nackRequest(response.typeUrl, response.nonce, revision, outcome.message));
    this.log.warn(
      { ...fields, revision: response.revision.toString(), appliedRevision: revision.toString(), reason: outcome.message },
      'config rejected (NACK)',
    );
  }

  private report(session: Session): void {
    if (this.session !== session) return;
    const members = this.options.target.memberReports();
    this.reportedMembers = memberSignature(members);
    session.call.write(reportRequest(this.options.target.revision, members));
  }

  private onStatus(session: Session, status: StatusObject): void {
    if (session === this.replaced) {
      // The old stream of a move ended (the controller closes it once the new one is up).
      this.replaced = undefined;
      this.teardown(session);
      return;
    }
    if (this.session !== session) return;
    this.session = undefined;
    this.teardown(session);
    if (this.closing) return;
    const wasConnected = session.established || this.replaced !== undefined;
    if (this.replaced !== undefined) this.teardown(this.replaced);
    this.replaced = undefined;
    this.lastFailure = `${GrpcStatus[status.code]}: ${status.details}`;
    const delay = this.afterFailure(session, status);
    if (wasConnected) this.options.onConnectionChange?.(false);
    this.index = (this.index + 1) % this.options.controllers.length;
    this.reconnectTimer = setTimeout(() => {
      this.options.metrics.xdsReconnects.inc();
      this.connect();
    }, delay);
  }

  /** Logs why a stream ended or could not start; returns how long to wait before the next attempt. */
  private afterFailure(session: Session, status: StatusObject): number {
    const fields = { controller: session.controller, code: GrpcStatus[status.code], details: status.details };
    if (status.code === GrpcStatus.PERMISSION_DENIED) {
      // Denied access (revoked, or an identity the certificate does not carry): asking
      // again at once gets the same answer. The last config keeps being served.
      if (this.denied !== status.details) this.log.error(fields, 'controller denied this runtime access; serving the last config');
      this.denied = status.details;
      this.failures++;
      const retryMs = this.options.refusedRetryMs ?? 300_000;
      return Math.round(retryMs * (0.9 + 0.2 * this.random()));
    }
    if (status.code === GrpcStatus.UNAUTHENTICATED) this.options.onCertificateRejected?.();
    if (session.established) {
      this.log.warn(fields, 'controller stream ended');
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
    return this.backoff.next();
  }

  private teardown(session: Session): void {
    clearInterval(session.reportTimer);
    clearTimeout(session.establishTimer);
    session.call.removeAllListeners('data');
    session.call.cancel();
    session.client.close();
  }
}
