import type { ServerDuplexStream } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  CausewayError,
  PROTOCOL_VERSION,
  addOrder,
  kindByTypeUrl,
  removeOrder,
  typeUrls,
  type Logger,
  type ResourceKind,
} from '@causeway/shared';
import type { DiscoveryRequest } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import type { ControllerMetrics } from '../metrics.ts';
import type { Snapshot, SnapshotEntry } from '../snapshot/build-snapshot.ts';
import { computeDelta, computeDeltaOf, type Delta } from './delta.ts';
import { encodeResponse } from './encode-response.ts';
import type { RuntimeIdentity, RuntimeRegistry } from './runtime-registry.ts';

/** Large syncs are split so that no message comes near gRPC's 4 MiB default limit. */
const MAX_RESOURCES_PER_RESPONSE = 500;

export interface SessionContext {
  readonly controllerId: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly registry: RuntimeRegistry;
  currentSnapshot(): Snapshot | undefined;
  /** When a revision was committed, if this replica saw it (for the commit-to-ACK metric). */
  committedAt(revision: number): number | undefined;
  /** Asks the change follower to read the log now (a runtime is ahead of us). */
  requestCatchUp(): void;
  /** The newest revision known to be committed in the database (told to runtimes for their lag). */
  databaseRevision(): number;
}

interface Pending {
  readonly kind: ResourceKind;
  readonly revision: number;
  /** What the runtime held of each resource in the response before it (undefined: nothing). */
  readonly previous: ReadonlyMap<string, string | undefined>;
  /** The version sent of each resource in the response (absent for a removal). */
  readonly sent: ReadonlyMap<string, string>;
  readonly sentAt: number;
}

export type SessionEvent =
  | { type: 'ack'; nodeId: string; kind: ResourceKind; revision: number }
  | { type: 'nack'; nodeId: string; kind: ResourceKind; name: string; revision: number; message: string };

/**
 * One runtime's stream: remembers what the runtime holds (name → version per type) and
 * sends only the difference to the current snapshot, clusters before the APIs that use
 * them and removed after them.
 */
export class StreamSession {
  private readonly call: ServerDuplexStream<DiscoveryRequest, Uint8Array>;
  private readonly ctx: SessionContext;
  private readonly onEvent: (event: SessionEvent) => void;
  private identity: RuntimeIdentity | undefined;
  private readonly connectedAt = new Date();
  private runtimeRevision = 0;
  private readonly known = new Map<ResourceKind, Map<string, string>>();
  private readonly pending = new Map<string, Pending>();
  private nonceCounter = 0;
  /** Types whose next push sends one resource per response, to find which one a runtime rejects. */
  private readonly isolate = new Set<ResourceKind>();
  /** Versions a runtime rejected, per type: not resent until they change. */
  private readonly rejectedVersions = new Map<ResourceKind, Map<string, string>>();
  private removalsDue = false;
  /** The snapshot revision whose resources this runtime was last sent in full (adds and updates). */
  private syncedRevision: number | undefined;
  /** Highest revision of an answered API response of this stream. */
  private answeredApiRevision = 0;
  /** Highest revision this stream has sent a response of. */
  private sentRevision = 0;
  private closed = false;
  private log: Logger;

  constructor(call: ServerDuplexStream<DiscoveryRequest, Uint8Array>, ctx: SessionContext, onEvent: (event: SessionEvent) => void) {
    this.call = call;
    this.ctx = ctx;
    this.onEvent = onEvent;
    this.log = ctx.log;
  }

  get nodeId(): string | undefined {
    return this.identity?.nodeId;
  }

  handle(request: DiscoveryRequest): void {
    if (this.closed) return;
    try {
      if (this.identity === undefined) this.identify(request);
      const revision = Number(request.appliedRevision);
      if (revision > this.runtimeRevision) this.runtimeRevision = revision;
      if (request.report !== undefined && this.identity !== undefined) {
        const applied = Number(request.report.appliedRevision);
        if (applied > this.runtimeRevision) this.runtimeRevision = applied;
        this.ctx.registry.reported(this.identity.nodeId, applied);
        this.ctx.registry.healthReported(this.identity.nodeId, request.report.members);
      }
      if (request.typeUrl === '') return;
      const kind = kindByTypeUrl.get(request.typeUrl);
      if (kind === undefined) {
        throw new CausewayError('invalid_argument', `unknown resource type "${request.typeUrl}"`);
      }
      if (request.responseNonce !== '') this.acknowledge(kind, request);
      else this.subscribe(kind, request);
    } catch (error) {
      this.fail(CausewayError.from(error));
    }
  }

  private identify(request: DiscoveryRequest): void {
    const node = request.node;
    if (node === undefined || node.id === '') {
      throw new CausewayError('invalid_argument', 'the first request of a stream must carry node.id');
    }
    if (node.protocolVersion !== PROTOCOL_VERSION) {
      throw new CausewayError(
        'incompatible_version',
        `runtime ${node.id} (version ${node.version || 'unknown'}) speaks protocol ${node.protocolVersion}; this controller speaks protocol ${PROTOCOL_VERSION}: upgrade the runtime or the controller so they match`,
      );
    }
    this.identity = { nodeId: node.id, zone: node.zone || 'default', labels: { ...node.labels }, version: node.version };
    this.log = this.ctx.log.child({ node: node.id, zone: this.identity.zone });
    this.runtimeRevision = Number(request.appliedRevision);
    this.ctx.registry.connected(this.identity, this.runtimeRevision, this.connectedAt);
    this.log.info({ runtimeRevision: this.runtimeRevision, runtimeVersion: node.version }, 'runtime connected');
  }

  private subscribe(kind: ResourceKind, request: DiscoveryRequest): void {
    this.known.set(kind, new Map(Object.entries(request.initialResourceVersions)));
    this.syncedRevision = undefined;
    this.push();
  }

  private acknowledge(kind: ResourceKind, request: DiscoveryRequest): void {
    const pending = this.pending.get(request.responseNonce);
    if (pending === undefined) return; // an answer to a response of an earlier stream: nothing to do
    this.pending.delete(request.responseNonce);
    const nodeId = this.identity?.nodeId ?? '';
    if (request.errorDetail === undefined) {
      const rejected = this.rejectedVersions.get(kind);
      if (rejected !== undefined) for (const name of pending.previous.keys()) rejected.delete(name);
      this.ctx.metrics.acks.inc({ type: kind });
      this.ctx.registry.acked(nodeId, pending.revision);
      const committedAt = this.ctx.committedAt(pending.revision);
      if (committedAt !== undefined) this.ctx.metrics.commitToAck.observe({ zone: this.identity?.zone ?? '' }, (Date.now() - committedAt) / 1000);
      this.onEvent({ type: 'ack', nodeId, kind, revision: pending.revision });
    } else {
      this.rejected(kind, pending, request.errorDetail.message);
    }
    if (kind === 'api') this.apiAnswered(pending.revision);
  }

  private rejected(kind: ResourceKind, pending: Pending, message: string): void {
    const nodeId = this.identity?.nodeId ?? '';
    this.ctx.metrics.nacks.inc({ type: kind });
    this.log.warn({ type: kind, revision: pending.revision, resources: pending.previous.size, error: message }, 'runtime rejected config (NACK)');
    this.ctx.registry.nacked(nodeId, pending.revision, typeUrls[kind], message);
    const known = this.known.get(kind);
    // What the runtime holds now differs from what was sent: compare in full next time.
    this.syncedRevision = undefined;
    if (pending.previous.size > 1 && known !== undefined) {
      // The runtime kept what it had. Resend these one by one, so that only the bad
      // one stays out and the others are not held back by it.
      for (const [name, version] of pending.previous) {
        if (version === undefined) known.delete(name);
        else known.set(name, version);
      }
      this.isolate.add(kind);
      this.push();
      return;
    }
    // One resource: the runtime keeps what it had, and this version is not resent.
    for (const [name, previous] of pending.previous) {
      const sent = pending.sent.get(name);
      if (previous === undefined) known?.delete(name);
      else known?.set(name, previous);
      if (sent !== undefined) this.rejectedSet(kind).set(name, sent);
      this.ctx.registry.resourceRejected(nodeId, kind, name, sent === undefined ? pending.revision : Number(sent), message);
      this.onEvent({ type: 'nack', nodeId, kind, name, revision: pending.revision, message });
    }
  }

  private rejectedSet(kind: ResourceKind): Map<string, string> {
    let set = this.rejectedVersions.get(kind);
    if (set === undefined) {
      set = new Map();
      this.rejectedVersions.set(kind, set);
    }
    return set;
  }

  /**
   * Once no API response is outstanding, every API response up to the highest answered
   * one was applied or rejected (rejections are recorded per resource).
   */
  private apiAnswered(revision: number): void {
    if (revision > this.answeredApiRevision) this.answeredApiRevision = revision;
    if ([...this.pending.values()].some((p) => p.kind === 'api')) return;
    this.ctx.registry.apiSettled(this.identity?.nodeId ?? '', this.answeredApiRevision);
    this.sendRemovals();
  }

  /**
   * Sends what changed. Waits until the runtime subscribed to every type (so removals
   * can be ordered) and until this replica has caught up with what the runtime already
   * applied: a lagging replica must never send an older revision.
   */
  push(): void {
    if (this.closed || this.identity === undefined) return;
    if (!addOrder.every((kind) => this.known.has(kind))) return;
    const snapshot = this.ctx.currentSnapshot();
    if (snapshot === undefined) return;
    if (snapshot.revision < this.runtimeRevision) {
      this.log.info({ snapshotRevision: snapshot.revision, runtimeRevision: this.runtimeRevision }, 'runtime is ahead of this replica; waiting to catch up');
      this.ctx.requestCatchUp();
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
    if (this.sentRevision < snapshot.revision) this.sendProgress(snapshot.revision);
  }

  /**
   * Zones and clusters are removed only once every API response was answered, and not at
   * all while the runtime still holds a rejected API (which may use them): break after make.
   */
  private sendRemovals(): void {
    const snapshot = this.ctx.currentSnapshot();
    if (!this.removalsDue || snapshot === undefined || this.closed) return;
    this.removalsDue = false;
    if ((this.rejectedVersions.get('api')?.size ?? 0) > 0) return;
    for (const kind of removeOrder) {
      if (kind !== 'api') this.send(kind, snapshot.revision, [], this.delta(kind, snapshot).removals);
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
    const rejected = this.rejectedVersions.get(kind);
    if (rejected === undefined || rejected.size === 0) return delta;
    // A rejected version is not sent again; a newer one is.
    return { upserts: delta.upserts.filter((e) => rejected.get(e.name) !== e.version), removals: delta.removals };
  }

  private send(kind: ResourceKind, revision: number, upserts: readonly SnapshotEntry[], removals: readonly string[]): void {
    const known = this.known.get(kind);
    if (known === undefined || (upserts.length === 0 && removals.length === 0)) return;
    if (revision > this.sentRevision) this.sentRevision = revision;
    const size = this.isolate.has(kind) ? 1 : MAX_RESOURCES_PER_RESPONSE;
    const batches: { upserts: readonly SnapshotEntry[]; removals: readonly string[] }[] = [];
    for (let i = 0; i < upserts.length; i += size) batches.push({ upserts: upserts.slice(i, i + size), removals: [] });
    for (let i = 0; i < removals.length; i += size) batches.push({ upserts: [], removals: removals.slice(i, i + size) });
    for (const batch of batches) {
      const previous = new Map<string, string | undefined>();
      for (const e of batch.upserts) previous.set(e.name, known.get(e.name));
      for (const name of batch.removals) previous.set(name, known.get(name));
      const sent = new Map(batch.upserts.map((e) => [e.name, e.version]));
      this.writeResponse(kind, revision, batch.upserts, batch.removals, previous, sent);
      // Sent is taken as applied (as go-control-plane does); a NACK undoes it (see rejected()).
      for (const e of batch.upserts) known.set(e.name, e.version);
      for (const name of batch.removals) known.delete(name);
      this.ctx.metrics.pushes.inc({ type: kind });
      this.ctx.metrics.pushBytes.inc({ type: kind }, batch.upserts.reduce((n, e) => n + e.resource.value.byteLength, 0));
    }
    this.log.debug({ type: kind, revision, upserts: upserts.length, removals: removals.length }, 'resources sent');
  }

  /** An API response without resources: acknowledged like any other, it changes nothing but the revision. */
  private sendProgress(revision: number): void {
    this.sentRevision = revision;
    this.writeResponse('api', revision, [], [], new Map(), new Map());
    this.ctx.metrics.pushes.inc({ type: 'progress' });
  }

  /** Writes one response under a new nonce, pending until the runtime answers it. */
  private writeResponse(
    kind: ResourceKind,
    revision: number,
    upserts: readonly SnapshotEntry[],
    removals: readonly string[],
    previous: Pending['previous'],
    sent: Pending['sent'],
  ): void {
    const nonce = (++this.nonceCounter).toString(36);
    this.pending.set(nonce, { kind, revision, previous, sent, sentAt: Date.now() });
    const head = {
      revision: BigInt(revision),
      typeUrl: typeUrls[kind],
      removedResources: [...removals],
      nonce,
      controllerId: this.ctx.controllerId,
      databaseRevision: BigInt(Math.max(revision, this.ctx.databaseRevision())),
    };
    this.call.write(encodeResponse(head, upserts));
  }

  private fail(error: CausewayError): void {
    this.log.warn({ err: error, code: error.code }, 'closing stream');
    this.ctx.metrics.streamErrors.inc({ reason: error.code });
    this.closed = true;
    this.call.emit('error', { code: error.grpcStatus ?? GrpcStatus.INTERNAL, details: error.message });
  }

  /** The stream ended, for whatever reason. */
  close(): void {
    if (this.identity !== undefined && !this.closedRecorded) {
      this.closedRecorded = true;
      this.ctx.registry.disconnected(this.identity.nodeId, this.connectedAt);
      this.log.info('runtime disconnected');
    }
    this.closed = true;
  }

  private closedRecorded = false;
}
