import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@causeway/shared';
import { listenForChanges, readChangesSince, sendChangeProbe, type ChangeLogRead } from '../store/change-log.ts';
import type { Sql } from '../store/database.ts';
import type { EntityState } from '../store/records.ts';
import type { ControllerMetrics } from '../metrics.ts';
import { applyEntities, emptyModel, modelFromRecords, type Model } from './model.ts';

export interface ChangeFollowerOptions {
  readonly sql: Sql;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  /** How often the log is read even without a notification (ARCHITECTURE.md §2: ≤ 2 s). */
  readonly reconcileIntervalMs: number;
  /** Unique per replica: tags this replica's LISTEN probes. */
  readonly controllerId: string;
  /** A probe NOTIFY is sent this often through the pool and must come back on the LISTEN connection ... */
  readonly probeIntervalMs?: number;
  /** ... within this long, or the LISTEN connection is re-made. */
  readonly probeTimeoutMs?: number;
}

export interface ModelUpdate {
  readonly model: Model;
  /** Undefined after a full load: everything may have changed. */
  readonly changed: readonly EntityState[] | undefined;
}

/**
 * Keeps the in-memory model equal to the store. NOTIFY is only a wake-up: the revision
 * log is read on a notification, on every (re)connect of the LISTEN connection and on a
 * timer, so nothing depends on a notification arriving. When the log no longer reaches
 * back to the applied revision (pruned), everything is reloaded.
 */
export class ChangeFollower extends EventEmitter<{ update: [ModelUpdate] }> {
  private current: Model = emptyModel;
  private loaded = false;
  private newestRevision = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private closed = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private probeCounter = 0;
  private probePayload = '';
  private probeAnswered = false;
  /** Commit times of recent revisions (bounded), for the commit-to-ACK metric. */
  private readonly commitTimes = new Map<number, number>();
  private readonly options: ChangeFollowerOptions;

  constructor(options: ChangeFollowerOptions) {
    super();
    this.options = options;
  }

  get model(): Model {
    return this.current;
  }

  /** The newest revision known to be committed: read from the database or announced by a notification. */
  get databaseRevision(): number {
    return Math.max(this.newestRevision, this.current.revision);
  }

  committedAt(revision: number): number | undefined {
    return this.commitTimes.get(revision);
  }

  get ready(): boolean {
    return this.loaded;
  }

  async start(): Promise<void> {
    await this.catchUp();
    await this.listen();
    this.timer = setInterval(() => this.requestCatchUp('timer'), this.options.reconcileIntervalMs);
    this.probeTimer = setInterval(() => void this.probe(), this.options.probeIntervalMs ?? 5_000);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.probeTimer);
    await this.unlisten?.().catch(() => undefined);
    await this.running;
  }

  private async listen(): Promise<void> {
    const { sql, log } = this.options;
    this.unlisten = await listenForChanges(
      sql,
      (payload) => {
        if (payload.startsWith('probe:')) {
          if (payload === this.probePayload) this.probeAnswered = true;
          return;
        }
        this.noteRevision(Number(payload));
        void this.requestCatchUp('notify');
      },
      () => {
        log.info('listening for changes');
        void this.requestCatchUp('listen');
      },
    );
  }

  /**
   * A LISTEN connection can die without a word (a dropped NAT entry, a frozen primary).
   * Each probe goes out through the pool and must come back on the LISTEN connection;
   * if it does not, the LISTEN connection is made anew (and the log read on reconnect).
   */
  private async probe(): Promise<void> {
    if (this.closed || this.probing) return;
    this.probing = true;
    const { sql, log, metrics } = this.options;
    try {
      this.probeAnswered = false;
      this.probePayload = `probe:${this.options.controllerId}:${++this.probeCounter}`;
      await sendChangeProbe(sql, this.probePayload);
      const deadline = Date.now() + (this.options.probeTimeoutMs ?? 3_000);
      while (!this.probeAnswered && Date.now() < deadline && !this.closed) await sleep(25);
      if (this.probeAnswered || this.closed) return;
      metrics.listenProbeFailures.inc();
      log.warn('LISTEN connection did not deliver a probe; reconnecting it');
      const unlisten = this.unlisten;
      this.unlisten = undefined;
      await Promise.race([unlisten?.().catch(() => undefined), sleep(1_000)]);
      await this.listen();
    } catch (error) {
      // The database itself is unreachable; postgres.js reconnects, and the timer reads the log.
      log.debug({ err: error }, 'LISTEN probe could not be sent');
    } finally {
      this.probing = false;
    }
  }

  /**
   * Resolves once the model holds `revision` (reading the log at once), or false after
   * `timeoutMs`: a write answered by this replica is in force here when the answer leaves.
   */
  async caughtUpTo(revision: number, timeoutMs = 2_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.current.revision < revision) {
      if (this.closed || Date.now() >= deadline) return false;
      await this.requestCatchUp('manual');
      if (this.current.revision < revision) await sleep(10);
    }
    return true;
  }

  /** Reads the log now (serialised: one read at a time, another right after if asked). */
  requestCatchUp(reason: 'notify' | 'listen' | 'timer' | 'manual'): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.options.metrics.catchUps.inc({ reason });
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.catchUp();
        } while (this.again && !this.closed);
      } catch (error) {
        this.options.log.warn({ err: error }, 'reading the change log failed; retrying on the next wake-up');
        this.options.metrics.catchUpErrors.inc();
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async catchUp(): Promise<void> {
    const read = await readChangesSince(this.options.sql, this.loaded ? this.current.revision : undefined);
    const update = this.apply(read);
    if (update === undefined) return;
    const lag = update.model.revision - this.current.revision;
    this.current = update.model;
    this.loaded = true;
    this.options.metrics.appliedRevision.set(update.model.revision);
    this.options.metrics.replicationLag.set(0);
    this.options.log.debug({ revision: update.model.revision, lag, full: update.changed === undefined }, 'model updated');
    this.emit('update', update);
  }

  /** The model after `read`, or undefined when nothing changed. */
  private apply(read: ChangeLogRead): ModelUpdate | undefined {
    this.noteRevision(read.revision);
    this.options.metrics.replicationLag.set(Math.max(read.revision - this.current.revision, 0));
    switch (read.type) {
      case 'current':
        return undefined;
      case 'full':
        this.options.metrics.fullLoads.inc();
        return { model: modelFromRecords(read.revision, read.records, read.access, read.hopKey), changed: undefined };
      case 'changes':
        this.rememberCommitTimes(read.commits);
        return { model: applyEntities(this.current, read.revision, read.entities, read.access), changed: read.entities };
    }
  }

  private noteRevision(revision: number): void {
    if (!Number.isSafeInteger(revision) || revision <= this.newestRevision) return;
    this.newestRevision = revision;
    this.options.metrics.databaseRevision.set(revision);
  }

  private rememberCommitTimes(commits: readonly { revision: number; committedAt: Date }[]): void {
    for (const commit of commits) this.commitTimes.set(commit.revision, commit.committedAt.getTime());
    for (const revision of this.commitTimes.keys()) {
      if (this.commitTimes.size <= 1_000) break;
      this.commitTimes.delete(revision);
    }
  }
}
