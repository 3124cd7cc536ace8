import type { Logger } from '@causeway/shared';
import type { Sql } from '../store/database.ts';
import type { Deployer } from '../deployment/deployer.ts';
import type { Allocator } from '../allocation/allocator.ts';
import { pruneAuditEvents } from '../store/audit-events.ts';
import { refreshHeartbeatExpiry } from '../store/gateway-heartbeats.ts';
import { systemAudit } from '../store/mutate.ts';
import { expireStaleRows, holdChoresLock, pruneChangeLog, pruneFinished } from '../store/maintenance.ts';
import type { ControllerMetrics } from '../metrics.ts';

export interface ChoreSettings {
  /** Change-log rows are kept at least this long ... */
  readonly changeLogRetentionMs: number;
  /** ... and at least this many of the newest revisions are always kept. */
  readonly changeLogMinRevisions: number;
  /** A connected runtime not heard from for this long is marked disconnected. */
  readonly runtimeStaleMs: number;
  /** A runtime or controller row not heard from for this long is removed. */
  readonly forgetAfterMs: number;
  /** Gateways that send heartbeats are marked down once the last is older than this. */
  readonly heartbeatTtlMs: number;
  /** Audit events, finished allocations and the revisions of deleted APIs are kept this many days. */
  readonly auditRetentionDays: number;
}

const PRUNE_FINISHED_EVERY_MS = 3_600_000;

export const defaultChoreSettings: ChoreSettings = {
  changeLogRetentionMs: 3_600_000,
  changeLogMinRevisions: 10_000,
  runtimeStaleMs: 30_000,
  forgetAfterMs: 86_400_000,
  heartbeatTtlMs: 3_600_000,
  auditRetentionDays: 90,
};

/**
 * Runs the singleton chores on whichever replica holds a session advisory lock. The lock
 * lives on a connection of its own (a pool of one): if that connection or the replica
 * dies, Postgres releases the lock and another replica takes it at its next tick.
 */
export class Chores {
  private readonly sql: Sql;
  private readonly lockSql: Sql;
  private readonly deployer: Deployer;
  private readonly allocator: Pick<Allocator, 'recoverExpired'> | undefined;
  private readonly controllerId: string;
  private readonly log: Logger;
  private readonly metrics: ControllerMetrics;
  private readonly settings: ChoreSettings;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private leading = false;
  /** When finished allocations and deleted APIs' revisions were last pruned (0: not yet). */
  private prunedFinishedAt = 0;

  constructor(options: { sql: Sql; lockSql: Sql; deployer: Deployer; allocator?: Pick<Allocator, 'recoverExpired'>; controllerId: string; log: Logger; metrics: ControllerMetrics; settings?: ChoreSettings; intervalMs?: number }) {
    this.sql = options.sql;
    this.controllerId = options.controllerId;
    this.lockSql = options.lockSql;
    this.deployer = options.deployer;
    this.allocator = options.allocator;
    this.log = options.log;
    this.metrics = options.metrics;
    this.settings = options.settings ?? defaultChoreSettings;
    this.intervalMs = options.intervalMs ?? 2_000;
  }

  get leader(): boolean {
    return this.leading;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    // Ending the connection releases the lock.
    await this.lockSql.end({ timeout: 2 });
  }

  tick(): Promise<void> {
    this.running ??= this.runChores().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** A scan of whole tables, for rows that only go after days: once an hour (and at the first tick) is enough. */
  private async pruneFinishedHourly(): Promise<{ allocations: number; revisions: number }> {
    if (Date.now() - this.prunedFinishedAt < PRUNE_FINISHED_EVERY_MS) return { allocations: 0, revisions: 0 };
    const pruned = await pruneFinished(this.sql, this.settings.auditRetentionDays);
    this.prunedFinishedAt = Date.now();
    return pruned;
  }

  private async runChores(): Promise<void> {
    try {
      if (!(await this.holdLock())) return;
      const { changeLogRetentionMs, changeLogMinRevisions, runtimeStaleMs, forgetAfterMs } = this.settings;
      const pruned = await pruneChangeLog(this.sql, changeLogRetentionMs, changeLogMinRevisions);
      const expired = await expireStaleRows(this.sql, runtimeStaleMs, forgetAfterMs);
      const finished = await this.deployer.finishAbandoned();
      // Allocations whose replica stopped renewing the lease: rolled back (or released) in the background.
      const allocationsTakenOver = (await this.allocator?.recoverExpired()) ?? 0;
      const heartbeatFlips = await refreshHeartbeatExpiry(this.sql, this.settings.heartbeatTtlMs, systemAudit(this.controllerId));
      const auditPruned = await pruneAuditEvents(this.sql, this.settings.auditRetentionDays);
      const finishedPruned = await this.pruneFinishedHourly();
      if (pruned + expired.disconnected + expired.forgotten + finished + heartbeatFlips + auditPruned + allocationsTakenOver + finishedPruned.allocations + finishedPruned.revisions > 0) {
        this.log.info(
          { pruned, ...expired, finishedDeployments: finished, heartbeatFlips, auditPruned, allocationsTakenOver, allocationsPruned: finishedPruned.allocations, revisionsPruned: finishedPruned.revisions },
          'chores done',
        );
      }
    } catch (error) {
      this.metrics.databaseErrors.inc({ operation: 'chores' });
      this.log.warn({ err: error }, 'chores failed; retrying at the next tick');
    }
  }

  /** True when this replica's lock connection holds the lock, taking it if it is free. */
  private async holdLock(): Promise<boolean> {
    const locked = await holdChoresLock(this.lockSql);
    if (locked !== this.leading) this.log.info(locked ? 'took over the singleton chores' : 'another replica does the singleton chores');
    this.leading = locked;
    return locked;
  }
}
