import { EventEmitter } from 'node:events';
import type { Logger } from '@causeway/shared';
import type { ControllerMetrics } from '../metrics.ts';
import type { EntityState } from '../store/records.ts';
import type { ChangeFollower, ModelUpdate } from '../sync/change-follower.ts';
import { emptyModel, type Model } from '../sync/model.ts';
import type { SnapshotSource } from '../xds-server/snapshot-source.ts';
import { buildSnapshot, checkSnapshot, emptySnapshot, updateSnapshot, type Snapshot } from './build-snapshot.ts';
import { Coalescer } from './coalescer.ts';
import { RuntimeViews, type RuntimeAudience, type SnapshotView } from './runtime-views.ts';

/** Past a full config's worth of pending changes (say, while snapshots stay inconsistent), a full build is as cheap. */
const MAX_INCREMENTAL_CHANGES = 10_000;

export interface PublisherOptions {
  /** Where the models come from, and what it knows of the revisions behind them. */
  readonly follower: Pick<ChangeFollower, 'databaseRevision' | 'committedAt' | 'requestCatchUp'>;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  /** A burst of changes is published once: after this quiet time ... */
  readonly holdoffMs: number;
  /** ... or at the latest this long after the first change. */
  readonly maxDelayMs: number;
}

/**
 * The publish stage: turns each model update into a snapshot (built from the changed
 * entities only, or in full after a full load), checks it, and emits `snapshot` with
 * each consistent one; an inconsistent one is logged and the previous one kept. Bursts
 * of updates are coalesced. It is the xDS server's snapshot source.
 */
export class Publisher extends EventEmitter<{ snapshot: [Snapshot] }> implements SnapshotSource {
  private readonly options: PublisherOptions;
  private readonly coalescer: Coalescer;
  private latest: Model = emptyModel;
  /** The last consistent snapshot (the base of the next build), and the model it was built from. */
  private published: Snapshot | undefined;
  private publishedFrom: Model = emptyModel;
  /** Entities changed since `publishedFrom`; undefined after a full load (build everything). */
  private changedSince: EntityState[] | undefined = [];
  private readonly views = new RuntimeViews();

  constructor(options: PublisherOptions) {
    super();
    this.options = options;
    this.coalescer = new Coalescer(options.holdoffMs, options.maxDelayMs, () => this.publish());
  }

  current(): Snapshot | undefined {
    return this.published;
  }

  view(audience: RuntimeAudience): SnapshotView {
    return this.views.view(audience);
  }

  databaseRevision(): number {
    return this.options.follower.databaseRevision;
  }

  committedAt(revision: number): number | undefined {
    return this.options.follower.committedAt(revision);
  }

  requestNewer(): void {
    void this.options.follower.requestCatchUp('manual');
  }

  /** A new model: a snapshot of it follows, coalesced with the updates right after it. */
  modelChanged(update: ModelUpdate): void {
    this.latest = update.model;
    if (update.changed === undefined || this.changedSince === undefined || this.changedSince.length > MAX_INCREMENTAL_CHANGES) this.changedSince = undefined;
    else this.changedSince.push(...update.changed);
    this.coalescer.trigger();
  }

  /** Publishes now if an update is waiting. */
  flush(): void {
    this.coalescer.flush();
  }

  close(): void {
    this.coalescer.cancel();
  }

  private publish(): void {
    const { metrics, log } = this.options;
    const model = this.latest;
    const base = this.published ?? emptySnapshot;
    const next = this.changedSince === undefined ? buildSnapshot(model, base) : updateSnapshot(this.publishedFrom, model, base, this.changedSince);
    const problems = checkSnapshot(next, model);
    if (problems.length > 0) {
      metrics.snapshotBuilds.inc({ result: 'inconsistent' });
      log.error({ revision: model.revision, problems }, 'snapshot is inconsistent; keeping the previous one');
      return;
    }
    this.published = next;
    this.publishedFrom = model;
    this.changedSince = [];
    metrics.snapshotBuilds.inc({ result: 'ok' });
    metrics.snapshotRevision.set(next.revision);
    this.views.update(next);
    metrics.snapshotAudiences.set(this.views.audiences);
    this.emit('snapshot', next);
  }
}
