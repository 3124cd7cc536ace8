import { CausewayError, typeUrls, type ResourceKind } from '@causeway/shared';
import type { ControllerMetrics } from '../metrics.ts';
import type { SnapshotEntry } from '../snapshot/snapshot-entry.ts';
import { encodeResponse } from './encode-response.ts';

/** Large syncs are split so that no message comes near gRPC's 4 MiB default limit. */
export const MAX_RESOURCES_PER_RESPONSE = 500;
/** Responses a runtime may leave unanswered: one that answers none is not reading, and is closed. */
const MAX_PENDING_RESPONSES = 5_000;

/** Where responses go: a stream's gRPC call. */
export interface ResponseWriter {
  write(message: Uint8Array): unknown;
}

/** A response sent and not answered yet. */
export interface Pending {
  readonly kind: ResourceKind;
  readonly revision: number;
  /** What the runtime held of each resource in the response before it (undefined: nothing). */
  readonly previous: ReadonlyMap<string, string | undefined>;
  /** The version sent of each resource in the response (absent for a removal). */
  readonly sent: ReadonlyMap<string, string>;
}

export interface OutboxContext {
  readonly controllerId: string;
  readonly metrics: ControllerMetrics;
  /** Default MAX_PENDING_RESPONSES. */
  readonly maxPendingResponses?: number;
  databaseRevision(): number;
  /** The runtime does not answer: the stream is to be closed with this error. */
  overflow(error: CausewayError): void;
}

/** The responses of one stream: written in batches under a nonce each, pending until answered. */
export class Outbox {
  private readonly call: ResponseWriter;
  private readonly ctx: OutboxContext;
  private readonly pending = new Map<string, Pending>();
  private readonly typesSent = new Set<ResourceKind>();
  private nonceCounter = 0;
  private stopped = false;
  /** Highest revision a response was sent of. */
  sentRevision = 0;

  constructor(call: ResponseWriter, ctx: OutboxContext) {
    this.call = call;
    this.ctx = ctx;
  }

  /** The response a runtime answers, once. */
  take(nonce: string): Pending | undefined {
    const pending = this.pending.get(nonce);
    this.pending.delete(nonce);
    return pending;
  }

  apiPending(): boolean {
    for (const p of this.pending.values()) if (p.kind === 'api') return true;
    return false;
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Sends changes of one type in responses of at most `perResponse` resources, and notes
   * them in `known` (sent is taken as applied, as go-control-plane does; a NACK undoes it).
   * The first response of a type is sent even without any change.
   */
  send(kind: ResourceKind, known: Map<string, string>, revision: number, changes: { upserts: readonly SnapshotEntry[]; removals: readonly string[] }, perResponse: number): void {
    const { upserts, removals } = changes;
    if (upserts.length === 0 && removals.length === 0 && this.typesSent.has(kind)) return;
    if (revision > this.sentRevision) this.sentRevision = revision;
    const batches: { upserts: readonly SnapshotEntry[]; removals: readonly string[] }[] = [];
    for (let i = 0; i < upserts.length; i += perResponse) batches.push({ upserts: upserts.slice(i, i + perResponse), removals: [] });
    for (let i = 0; i < removals.length; i += perResponse) batches.push({ upserts: [], removals: removals.slice(i, i + perResponse) });
    if (batches.length === 0) batches.push({ upserts: [], removals: [] });
    for (const batch of batches) {
      const previous = new Map<string, string | undefined>();
      for (const e of batch.upserts) previous.set(e.name, known.get(e.name));
      for (const name of batch.removals) previous.set(name, known.get(name));
      const sent = new Map(batch.upserts.map((e) => [e.name, e.version]));
      if (!this.write({ kind, revision, previous, sent }, batch.upserts, batch.removals)) return;
      for (const e of batch.upserts) known.set(e.name, e.version);
      for (const name of batch.removals) known.delete(name);
      this.ctx.metrics.pushes.inc({ type: kind });
      this.ctx.metrics.pushBytes.inc({ type: kind }, batch.upserts.reduce((n, e) => n + e.resource.value.byteLength, 0));
    }
  }

  /** An API response without resources: acknowledged like any other, it changes nothing but the revision. */
  progress(revision: number): void {
    this.sentRevision = revision;
    if (this.write({ kind: 'api', revision, previous: new Map(), sent: new Map() }, [], [])) this.ctx.metrics.pushes.inc({ type: 'progress' });
  }

  private write(pending: Pending, upserts: readonly SnapshotEntry[], removals: readonly string[]): boolean {
    if (this.stopped) return false;
    if (this.pending.size >= (this.ctx.maxPendingResponses ?? MAX_PENDING_RESPONSES)) {
      this.ctx.overflow(new CausewayError('too_many_requests', `the runtime left ${this.pending.size} responses unanswered`));
      return false;
    }
    const nonce = (++this.nonceCounter).toString(36);
    this.pending.set(nonce, pending);
    this.typesSent.add(pending.kind);
    const head = {
      revision: BigInt(pending.revision),
      typeUrl: typeUrls[pending.kind],
      removedResources: [...removals],
      nonce,
      controllerId: this.ctx.controllerId,
      databaseRevision: BigInt(Math.max(pending.revision, this.ctx.databaseRevision())),
    };
    this.call.write(encodeResponse(head, upserts));
    return true;
  }
}
