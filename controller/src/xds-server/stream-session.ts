import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  CausewayError,
  addOrder,
  kindByTypeUrl,
  removeOrder,
  type Logger,
  type ResourceKind,
} from '@causeway/shared';
import type { DiscoveryRequest, RuntimeReport } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import type { PeerCertificate } from '../identity/peer-certificate.ts';
import type { ControllerMetrics } from '../metrics.ts';
import type { Snapshot } from '../snapshot/build-snapshot.ts';
import type { SnapshotEntry } from '../snapshot/snapshot-entry.ts';
import type { SnapshotView } from '../snapshot/runtime-views.ts';
import { computeDelta, computeDeltaOf, type Delta } from './delta.ts';
import { nodeIdentity } from './node-identity.ts';
import { MAX_RESOURCES_PER_RESPONSE, Outbox, type Pending, type ResponseWriter } from './outbox.ts';
import { Rejections } from './rejections.ts';
import { boundedMembers, checkRequest, excerpt, truncateText, xdsLimits } from './request-limits.ts';
import type { SnapshotSource } from './snapshot-source.ts';
import type { RuntimeIdentity, RuntimeStream, StreamCallbacks } from './stream-callbacks.ts';

/** What a session needs of its gRPC call: writing responses, and ending it with a status. */
export interface SessionCall extends ResponseWriter {
  emit(event: 'error', status: { code: GrpcStatus; details: string }): unknown;
}

export interface SessionContext {
  readonly controllerId: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly source: SnapshotSource;
  readonly callbacks: StreamCallbacks;
  readonly maxPendingResponses?: number;
  /** The session now speaks for its runtime; an older stream of the same node id is closed. */
  claim(session: StreamSession): void;
  /** The session ended: true when it still spoke for its runtime (its close is then reported). */
  release(session: StreamSession): boolean;
  /** Why the runtime may not stream (it was revoked), or undefined. */
  refusal(identity: RuntimeIdentity): CausewayError | undefined;
}

/**
 * One runtime's stream: remembers what the runtime holds (name → version per type) and
 * sends only the difference to the current snapshot, clusters before the APIs that use
 * them and removed after them. Every type subscribed gets a first response, empty when
 * the runtime holds all there is: it then knows its initial fetch is complete.
 */
export class StreamSession {
  readonly connectedAt: Date;
  private readonly call: SessionCall;
  private readonly ctx: SessionContext;
  private identity: RuntimeIdentity | undefined;
  /** The verified client certificate of the connection; undefined without TLS. */
  private readonly certified: PeerCertificate | undefined;
  private view: SnapshotView | undefined;
  private runtimeRevision = 0;
  private readonly known = new Map<ResourceKind, Map<string, string>>();
  private readonly out: Outbox;
  /** Types whose next push sends one resource per response, to find which one a runtime rejects. */
  private readonly isolate = new Set<ResourceKind>();
  /** The same for the next removals of a type. */
  private readonly isolateRemovals = new Set<ResourceKind>();
  private readonly rejections = new Rejections();
  private removalsDue = false;
  /** The snapshot revision whose resources this runtime was last sent in full (adds and updates). */
  private syncedRevision: number | undefined;
  /** Highest revision of an answered API response of this stream. */
  private answeredApiRevision = 0;
  private closed = false;
  private closedRecorded = false;
  private log: Logger;

  constructor(call: SessionCall, ctx: SessionContext, connectedAt: Date, certified?: PeerCertificate) {
    this.call = call;
    this.ctx = ctx;
    this.connectedAt = connectedAt;
    this.certified = certified;
    this.log = ctx.log;
    this.out = new Outbox(call, { ...ctx, databaseRevision: () => ctx.source.databaseRevision(), overflow: (error) => this.fail(error) });
  }

  get nodeId(): string | undefined {
    return this.identity?.nodeId;
  }

  /** Who the runtime is, once its first request came. */
  get runtime(): RuntimeIdentity | undefined {
    return this.identity;
  }

  private get stream(): RuntimeStream {
    return { nodeId: this.identity?.nodeId ?? '', connectedAt: this.connectedAt };
  }

  handle(request: DiscoveryRequest): void {
    if (this.closed) return;
    try {
      checkRequest(request);
      if (this.identity === undefined) this.identify(request);
      const revision = Number(request.appliedRevision);
      if (revision > this.runtimeRevision) this.runtimeRevision = revision;
      if (request.report !== undefined) this.reported(request.report);
      if (request.typeUrl === '') return;
      const kind = kindByTypeUrl.get(request.typeUrl);
      if (kind === undefined) throw new CausewayError('invalid_argument', `type_url: ${excerpt(request.typeUrl)} is not a resource type`);
      if (request.responseNonce !== '') this.acknowledge(request);
      else this.subscribe(kind, request);
    } catch (error) {
      this.fail(CausewayError.from(error));
    }
  }

  private identify(request: DiscoveryRequest): void {
    this.identity = nodeIdentity(request.node, this.certified);
    this.log = this.ctx.log.child({ node: this.identity.nodeId, zone: this.identity.zone });
    const refusal = this.ctx.refusal(this.identity);
    if (refusal !== undefined) throw refusal;
    this.view = this.ctx.source.view({ org: this.identity.org, labels: this.identity.labels });
    this.runtimeRevision = Number(request.appliedRevision);
    this.ctx.claim(this);
    this.ctx.callbacks.onStreamOpen(this.stream, this.identity, this.runtimeRevision);
    this.log.info({ runtimeRevision: this.runtimeRevision, runtimeVersion: this.identity.version }, 'runtime connected');
  }

  private reported(report: RuntimeReport): void {
    const applied = Number(report.appliedRevision);
    if (applied > this.runtimeRevision) this.runtimeRevision = applied;
    this.ctx.callbacks.onReport(this.stream, applied, boundedMembers(report.members));
  }

  private subscribe(kind: ResourceKind, request: DiscoveryRequest): void {
    // One subscription per type and stream: another would make the controller send everything again.
    if (this.known.has(kind)) throw new CausewayError('invalid_argument', `type_url: ${kind} is already subscribed on this stream`);
    this.known.set(kind, new Map(Object.entries(request.initialResourceVersions)));
    this.syncedRevision = undefined;
    this.push();
  }

  private acknowledge(request: DiscoveryRequest): void {
    const pending = this.out.take(request.responseNonce);
    if (pending === undefined) return; // an answer to a response of an earlier stream: nothing to do
    const { kind } = pending;
    if (request.errorDetail === undefined) {
      this.rejections.accepted(kind, pending.previous.keys());
      this.ctx.metrics.acks.inc({ type: kind });
      this.ctx.callbacks.onAck(this.stream, kind, pending.revision);
      const committedAt = this.ctx.source.committedAt(pending.revision);
      if (committedAt !== undefined) this.ctx.metrics.commitToAck.observe({ zone: this.identity?.zone ?? '' }, (Date.now() - committedAt) / 1000);
    } else {
      this.rejected(pending, truncateText(request.errorDetail.message, xdsLimits.maxErrorMessageLength));
    }
    if (kind === 'api') this.apiAnswered(pending.revision);
  }

  private rejected(pending: Pending, message: string): void {
    const { kind } = pending;
    this.ctx.metrics.nacks.inc({ type: kind });
    this.log.warn({ type: kind, revision: pending.revision, resources: pending.previous.size, error: message }, 'runtime rejected config (NACK)');
    this.ctx.callbacks.onNack(this.stream, kind, pending.revision, message);
    const known = this.known.get(kind);
    // What the runtime holds now differs from what was sent: compare in full next time.
    this.syncedRevision = undefined;
    for (const [name, previous] of pending.previous) {
      if (previous === undefined) known?.delete(name);
      else known?.set(name, previous);
    }
    if (pending.previous.size > 1) {
      // The runtime kept what it had. Resend these one by one, so that only the bad
      // one stays out and the others are not held back by it.
      if (pending.sent.size > 0 || kind === 'api') {
        this.isolate.add(kind);
        this.push();
      } else {
        this.isolateRemovals.add(kind);
        this.removeWhenSettled();
      }
      return;
    }
    // One resource: the runtime keeps what it had, and this version (or removal) is not resent.
    for (const name of pending.previous.keys()) {
      const sent = pending.sent.get(name);
      if (sent === undefined) this.rejections.rejectRemoval(kind, name);
      else this.rejections.rejectVersion(kind, name, sent);
      this.ctx.callbacks.onResourceRejected(this.stream, { kind, name, version: sent === undefined ? pending.revision : Number(sent), message });
    }
  }

  /**
   * Once no API response is outstanding, every API response up to the highest answered
   * one was applied or rejected (rejections are recorded per resource).
   */
  private apiAnswered(revision: number): void {
    if (revision > this.answeredApiRevision) this.answeredApiRevision = revision;
    if (this.out.apiPending()) return;
    this.ctx.callbacks.onApiSettled(this.stream, this.answeredApiRevision);
    this.sendRemovals();
  }

  private removeWhenSettled(): void {
    this.removalsDue = true;
    if (!this.out.apiPending()) this.sendRemovals();
  }

  /**
   * Sends what changed. Waits until the runtime subscribed to every type (so removals
   * can be ordered) and until this replica has caught up with what the runtime already
   * applied: a lagging replica must never send an older revision.
   */
  push(): void {
    if (this.closed || this.identity === undefined) return;
    if (!addOrder.every((kind) => this.known.has(kind))) return;
    const snapshot = this.view?.current();
    if (snapshot === undefined) return;
    if (snapshot.revision < this.runtimeRevision) {
      this.log.info({ snapshotRevision: snapshot.revision, runtimeRevision: this.runtimeRevision }, 'runtime is ahead of this replica; waiting to catch up');
      this.ctx.source.requestNewer();
      return;
    }
    // Adds and updates first, in dependency order (clusters, zones, APIs), with API removals.
    let apiSent = false;
    const incremental = snapshot.base !== undefined && this.syncedRevision === snapshot.base.revision && this.isolate.size === 0;
    for (const kind of addOrder) {
      const delta = this.delta(kind, snapshot, incremental);
      const removals = kind === 'api' ? delta.removals : [];
      if (kind === 'api') apiSent = delta.upserts.length + removals.length > 0;
      this.send(kind, snapshot.revision, delta.upserts, removals);
    }
    this.isolate.clear();
    this.syncedRevision = snapshot.revision;
    this.removalsDue = true;
    // Nothing new for APIs: once nothing is outstanding the runtime holds this snapshot's APIs.
    if (!apiSent) this.apiAnswered(snapshot.revision);
    // Nothing at all for this runtime: an empty response tells it that it is up to date at
    // this revision, so its applied revision (and lag) does not stay behind.
    if (this.out.sentRevision < snapshot.revision) this.out.progress(snapshot.revision);
  }

  /**
   * Zones and clusters are removed only once every API response was answered: break
   * after make. A removal the runtime refuses (an API it holds still uses the cluster)
   * is tried again once that API changes.
   */
  private sendRemovals(): void {
    const snapshot = this.view?.current();
    if (!this.removalsDue || snapshot === undefined || this.closed || snapshot.revision < this.runtimeRevision) return;
    this.removalsDue = false;
    for (const kind of removeOrder) {
      if (kind === 'api') continue;
      const perResponse = this.isolateRemovals.delete(kind) ? 1 : MAX_RESOURCES_PER_RESPONSE;
      this.send(kind, snapshot.revision, [], this.delta(kind, snapshot).removals, perResponse);
    }
  }

  /**
   * What the runtime lacks of `snapshot`. When it held exactly the snapshot this one was
   * built on, only the names that changed are looked at (cost of the change, not of the
   * whole config); otherwise every resource is compared.
   */
  private delta(kind: ResourceKind, snapshot: Snapshot, incremental = false): Delta {
    const known = this.known.get(kind) ?? new Map<string, string>();
    const delta =
      incremental && snapshot.base !== undefined
        ? computeDeltaOf(known, snapshot.resources[kind], snapshot.base.changed[kind])
        : computeDelta(known, snapshot.resources[kind]);
    return this.rejections.filter(kind, delta);
  }

  private send(kind: ResourceKind, revision: number, upserts: readonly SnapshotEntry[], removals: readonly string[], perResponse?: number): void {
    const known = this.known.get(kind);
    if (known === undefined) return;
    this.out.send(kind, known, revision, { upserts, removals }, perResponse ?? (this.isolate.has(kind) ? 1 : MAX_RESOURCES_PER_RESPONSE));
    this.log.debug({ type: kind, revision, upserts: upserts.length, removals: removals.length }, 'resources sent');
  }

  /** Ends the stream with an error status the runtime sees (and logs). */
  fail(error: CausewayError): void {
    if (this.closed) return;
    this.log.warn({ err: error, code: error.code }, 'closing stream');
    this.ctx.metrics.streamErrors.inc({ reason: error.code });
    this.closed = true;
    this.out.stop();
    this.call.emit('error', { code: error.grpcStatus ?? GrpcStatus.INTERNAL, details: error.message });
  }

  /** The stream ended, for whatever reason. */
  close(): void {
    this.closed = true;
    this.out.stop();
    this.view?.release();
    if (this.identity === undefined || this.closedRecorded) return;
    this.closedRecorded = true;
    if (this.ctx.release(this)) this.ctx.callbacks.onStreamClose(this.stream);
    this.log.info('runtime disconnected');
  }
}
