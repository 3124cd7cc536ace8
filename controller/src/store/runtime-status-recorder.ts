import { EventEmitter } from 'node:events';
import { typeUrls, type Logger, type ResourceKind } from '@causeway/shared';
import type { ControllerMetrics } from '../metrics.ts';
import type { MemberHealthReport, ResourceRejection, RuntimeIdentity, RuntimeStream, StreamCallbacks } from '../xds-server/stream-callbacks.ts';
import type { Sql } from './database.ts';
import {
  announceRuntimeStatus,
  recordGatewayHealth,
  recordResourceRejection,
  recordRuntimeConnected,
  recordRuntimeDisconnected,
  recordRuntimeNack,
  recordRuntimeProgress,
  type GatewayHealthReport,
} from './runtime-status.ts';

interface Progress {
  connectedAt: Date;
  applied: number;
  acked: number;
  apiAcked: number;
}

/** Frequent progress (ACKs, reports) is written in one statement per this period. */
const FLUSH_INTERVAL_MS = 100;

export interface RuntimeStatusRecorderOptions {
  readonly sql: Sql;
  readonly controllerId: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
}

/**
 * Records in PostgreSQL what the runtimes streaming from this replica do: the xDS
 * server's stream callbacks. Rare events (connect, disconnect, NACK) are written at
 * once, in order per runtime; frequent ones (ACKs, reports, health) are merged and
 * written for all runtimes together, so the cost per change does not grow by one write
 * per runtime. Writes never hold up a stream: a failed one is logged and counted, and
 * the next one repairs it.
 *
 * A runtime's row follows its newest stream (replica and connection time): only that
 * stream records progress and NACKs, and only it may mark the runtime disconnected.
 * `lost` is emitted for a stream whose row a newer stream (on another replica) took over.
 */
export class RuntimeStatusRecorder extends EventEmitter<{ lost: [RuntimeStream] }> implements StreamCallbacks {
  private readonly sql: Sql;
  private readonly controllerId: string;
  private readonly log: Logger;
  private readonly metrics: ControllerMetrics;
  private readonly chains = new Map<string, Promise<void>>();
  private progress = new Map<string, Progress>();
  private health = new Map<string, readonly MemberHealthReport[]>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(options: RuntimeStatusRecorderOptions) {
    super();
    this.sql = options.sql;
    this.controllerId = options.controllerId;
    this.log = options.log;
    this.metrics = options.metrics;
  }

  onStreamOpen(stream: RuntimeStream, identity: RuntimeIdentity, appliedRevision: number): void {
    this.run(stream.nodeId, 'runtime_connected', async () => {
      await recordRuntimeConnected(this.sql, this.controllerId, stream, identity, appliedRevision);
      await this.announce();
    });
  }

  onAck(stream: RuntimeStream, _kind: ResourceKind, revision: number): void {
    this.merge(stream, { applied: revision, acked: revision, apiAcked: 0 });
  }

  onApiSettled(stream: RuntimeStream, revision: number): void {
    this.merge(stream, { applied: 0, acked: 0, apiAcked: revision });
  }

  onReport(stream: RuntimeStream, appliedRevision: number, members: readonly MemberHealthReport[]): void {
    this.merge(stream, { applied: appliedRevision, acked: 0, apiAcked: 0 });
    if (members.length === 0) return;
    this.health.set(stream.nodeId, members);
    this.scheduleFlush();
  }

  onNack(stream: RuntimeStream, kind: ResourceKind, revision: number, message: string): void {
    this.run(stream.nodeId, 'runtime_nacked', () => recordRuntimeNack(this.sql, this.controllerId, stream, { revision, typeUrl: typeUrls[kind], message }));
  }

  onResourceRejected(stream: RuntimeStream, rejection: ResourceRejection): void {
    this.run(stream.nodeId, 'runtime_resource_rejected', async () => {
      await recordResourceRejection(this.sql, stream.nodeId, rejection);
      await this.announce();
    });
  }

  onStreamClose(stream: RuntimeStream): void {
    this.run(stream.nodeId, 'runtime_disconnected', async () => {
      await recordRuntimeDisconnected(this.sql, this.controllerId, stream);
      await this.announce();
    });
  }

  /** Resolves when every write made so far is done (used on shutdown). */
  async flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.writeBatches();
    await Promise.all(this.chains.values());
  }

  private merge(stream: RuntimeStream, revisions: Omit<Progress, 'connectedAt'>): void {
    const update = { connectedAt: stream.connectedAt, ...revisions };
    const current = this.progress.get(stream.nodeId);
    // A newer stream's progress replaces an older one's, which is no longer recorded.
    if (current === undefined || current.connectedAt < stream.connectedAt) this.progress.set(stream.nodeId, update);
    else if (current.connectedAt > stream.connectedAt) return;
    else {
      current.applied = Math.max(current.applied, update.applied);
      current.acked = Math.max(current.acked, update.acked);
      current.apiAcked = Math.max(current.apiAcked, update.apiAcked);
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.writeBatches();
    }, FLUSH_INTERVAL_MS);
  }

  /** One statement for all runtimes' progress, one for their health; after their earlier writes. */
  private writeBatches(): Promise<void> {
    const progress = this.progress;
    const health = this.health;
    this.progress = new Map();
    this.health = new Map();
    this.flushing = this.flushing.then(async () => {
      await Promise.all([...progress.keys(), ...health.keys()].map((node) => this.chains.get(node)));
      await Promise.all([this.writeProgress(progress), this.writeHealth(health)]);
    });
    return this.flushing;
  }

  private async writeProgress(progress: ReadonlyMap<string, Progress>): Promise<void> {
    if (progress.size === 0) return;
    try {
      const recorded = await recordRuntimeProgress(this.sql, this.controllerId, [...progress].map(([nodeId, p]) => ({ nodeId, ...p })));
      for (const [nodeId, p] of progress) if (!recorded.has(nodeId)) this.emit('lost', { nodeId, connectedAt: p.connectedAt });
      // Only answers to API responses move a deployment.
      if ([...progress.values()].some((p) => p.apiAcked > 0)) await this.announce();
    } catch (error) {
      this.failed('runtime_progress', error);
    }
  }

  private async writeHealth(health: ReadonlyMap<string, readonly MemberHealthReport[]>): Promise<void> {
    const reports = [...health].flatMap(([nodeId, members]) => healthReports(nodeId, members));
    if (reports.length === 0) return;
    await recordGatewayHealth(this.sql, reports).catch((error: unknown) => this.failed('runtime_health', error));
  }

  /** Tells every replica that runtime status changed; a lost announcement only delays their next look. */
  private async announce(): Promise<void> {
    await announceRuntimeStatus(this.sql).catch((error: unknown) => this.failed('runtime_status_announce', error));
  }

  private failed(operation: string, error: unknown): void {
    this.metrics.databaseErrors.inc({ operation });
    this.log.warn({ err: error, operation }, 'recording runtime state failed');
  }

  /** Writes of one runtime run one after another, in the order they were made. */
  private run(nodeId: string, operation: string, query: () => PromiseLike<unknown>): void {
    const previous = this.chains.get(nodeId) ?? Promise.resolve();
    const next = previous.then(query).then(
      () => undefined,
      (error: unknown) => this.failed(operation, error),
    );
    this.chains.set(nodeId, next);
    void next.then(() => {
      if (this.chains.get(nodeId) === next) this.chains.delete(nodeId);
    });
  }
}

/**
 * Cluster names are "<org>/pool/<name>" or "<org>/gateway/<name>"; members are gateways.
 * A gateway in two clusters counts as healthy if either check passes.
 */
function healthReports(nodeId: string, members: readonly MemberHealthReport[]): GatewayHealthReport[] {
  const reports = new Map<string, GatewayHealthReport>();
  for (const m of members) {
    const org = m.cluster.slice(0, m.cluster.indexOf('/'));
    const key = `${org}/${m.member}`;
    const previous = reports.get(key);
    if (previous === undefined || (!previous.healthy && m.healthy)) {
      reports.set(key, { org, gateway: m.member, nodeId, healthy: m.healthy, reason: m.reason.slice(0, 500) });
    }
  }
  return [...reports.values()];
}
