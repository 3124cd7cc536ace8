import type { Logger } from '@causeway/shared';
import type { Sql } from '../store/database.ts';
import type { ControllerMetrics } from '../metrics.ts';

export interface RuntimeIdentity {
  readonly nodeId: string;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly version: string;
}

export interface MemberHealthReport {
  readonly cluster: string;
  readonly member: string;
  readonly healthy: boolean;
  readonly reason: string;
}

/** One stream of a runtime: the row of a runtime belongs to the newest one. */
export interface RuntimeStream {
  readonly nodeId: string;
  readonly connectedAt: Date;
}

interface Progress {
  connectedAt: Date;
  applied: number;
  acked: number;
  apiAcked: number;
}

/** Frequent progress (ACKs, reports) is written in one statement per this period. */
const FLUSH_INTERVAL_MS = 100;

export interface RuntimeRegistryOptions {
  readonly sql: Sql;
  readonly controllerId: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  /**
   * A stream's runtime row now belongs to another stream (a newer one, on another
   * replica): progress of this one was not recorded.
   */
  readonly onLost?: (stream: RuntimeStream) => void;
}

/**
 * Records in Postgres what the runtimes streaming from this replica do. Rare events
 * (connect, disconnect, NACK) are written at once, in order per runtime; frequent ones
 * (ACKs, reports, health) are merged and written for all runtimes together, so the
 * cost per change does not grow by one write per runtime. Writes never hold up a
 * stream: a failed one is logged and counted, and the next one repairs it.
 *
 * A runtime's row follows its newest stream (replica and connection time): only that
 * stream records progress and NACKs, and only it may mark the runtime disconnected.
 */
export class RuntimeRegistry {
  private readonly sql: Sql;
  private readonly controllerId: string;
  private readonly log: Logger;
  private readonly metrics: ControllerMetrics;
  private readonly onLost: (stream: RuntimeStream) => void;
  private readonly chains = new Map<string, Promise<void>>();
  private progress = new Map<string, Progress>();
  private health = new Map<string, readonly MemberHealthReport[]>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(options: RuntimeRegistryOptions) {
    this.sql = options.sql;
    this.controllerId = options.controllerId;
    this.log = options.log;
    this.metrics = options.metrics;
    this.onLost = options.onLost ?? (() => undefined);
  }

  connected(runtime: RuntimeIdentity, appliedRevision: number, connectedAt: Date): void {
    this.run(runtime.nodeId, 'runtime_connected', () => this.sql`
      INSERT INTO runtimes (node_id, zone, labels, version, controller_id, connected, connected_at, last_seen_at, applied_revision)
      VALUES (${runtime.nodeId}, ${runtime.zone}, ${this.sql.json(runtime.labels)}, ${runtime.version}, ${this.controllerId},
              true, ${connectedAt}, now(), ${appliedRevision})
      ON CONFLICT (node_id) DO UPDATE SET zone = excluded.zone, labels = excluded.labels, version = excluded.version,
        controller_id = excluded.controller_id, connected = true, connected_at = excluded.connected_at,
        last_seen_at = now(), applied_revision = GREATEST(runtimes.applied_revision, excluded.applied_revision)`);
  }

  acked(stream: RuntimeStream, revision: number): void {
    this.merge(stream, { applied: revision, acked: revision, apiAcked: 0 });
  }

  /** Every API response up to `revision` was answered by this runtime. */
  apiSettled(stream: RuntimeStream, revision: number): void {
    this.merge(stream, { applied: 0, acked: 0, apiAcked: revision });
  }

  reported(stream: RuntimeStream, appliedRevision: number): void {
    this.merge(stream, { applied: appliedRevision, acked: 0, apiAcked: 0 });
  }

  /** What the runtime's health checks see of each member (gateway) of its clusters. */
  healthReported(stream: RuntimeStream, members: readonly MemberHealthReport[]): void {
    if (members.length === 0) return;
    this.health.set(stream.nodeId, members);
    this.scheduleFlush();
  }

  nacked(stream: RuntimeStream, revision: number, typeUrl: string, message: string): void {
    this.run(stream.nodeId, 'runtime_nacked', () => this.sql`
      UPDATE runtimes SET last_nack_revision = ${revision}, last_nack_type = ${typeUrl}, last_nack_error = ${message},
        last_nack_at = now(), last_seen_at = now()
      WHERE node_id = ${stream.nodeId} AND controller_id = ${this.controllerId} AND connected_at = ${stream.connectedAt}`);
  }

  resourceRejected(stream: RuntimeStream, kind: string, name: string, version: number, error: string): void {
    this.run(stream.nodeId, 'runtime_resource_rejected', () => this.sql`
      INSERT INTO runtime_nacks (node_id, resource_type, resource_name, version, error)
      VALUES (${stream.nodeId}, ${kind}, ${name}, ${version}, ${error})
      ON CONFLICT (node_id, resource_type, resource_name) DO UPDATE
      SET version = excluded.version, error = excluded.error, at = now()`);
  }

  disconnected(stream: RuntimeStream): void {
    // Only if no newer stream of the same runtime (on any replica) took over meanwhile.
    this.run(stream.nodeId, 'runtime_disconnected', () => this.sql`
      UPDATE runtimes SET connected = false, last_seen_at = now()
      WHERE node_id = ${stream.nodeId} AND controller_id = ${this.controllerId} AND connected_at = ${stream.connectedAt}`);
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
    const rows = [...progress].map(([node_id, p]) => ({ node_id, connected_at: p.connectedAt.toISOString(), applied: p.applied, acked: p.acked, api_acked: p.apiAcked }));
    try {
      const owned = await this.sql<{ node_id: string }[]>`
        UPDATE runtimes r SET applied_revision = GREATEST(r.applied_revision, p.applied),
          acked_revision = GREATEST(r.acked_revision, p.acked),
          api_acked_revision = GREATEST(r.api_acked_revision, p.api_acked), last_seen_at = now()
        FROM jsonb_to_recordset(${this.sql.json(rows)}) AS p(node_id text, connected_at timestamptz, applied bigint, acked bigint, api_acked bigint)
        WHERE r.node_id = p.node_id AND r.controller_id = ${this.controllerId} AND r.connected_at = p.connected_at
        RETURNING r.node_id`;
      const recorded = new Set(owned.map((row) => row.node_id));
      for (const [nodeId, p] of progress) if (!recorded.has(nodeId)) this.onLost({ nodeId, connectedAt: p.connectedAt });
    } catch (error) {
      this.failed('runtime_progress', error);
    }
  }

  private async writeHealth(health: ReadonlyMap<string, readonly MemberHealthReport[]>): Promise<void> {
    const rows = [...health].flatMap(([nodeId, members]) => healthRows(nodeId, members));
    if (rows.length === 0) return;
    await this.sql`
      INSERT INTO gateway_health_reports (org_id, gateway_name, node_id, healthy, reason, checked_at)
      SELECT r.org_id, r.gateway_name, r.node_id, r.healthy, r.reason, now()
      FROM jsonb_to_recordset(${this.sql.json(rows)}) AS r(org_id text, gateway_name text, node_id text, healthy boolean, reason text)
      JOIN gateways g ON g.org_id = r.org_id AND g.name = r.gateway_name
      ON CONFLICT (org_id, gateway_name, node_id) DO UPDATE
      SET healthy = excluded.healthy, reason = excluded.reason, checked_at = excluded.checked_at`.catch((error: unknown) => this.failed('runtime_health', error));
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
function healthRows(nodeId: string, members: readonly MemberHealthReport[]) {
  const rows = new Map<string, { org_id: string; gateway_name: string; node_id: string; healthy: boolean; reason: string }>();
  for (const m of members) {
    const org = m.cluster.slice(0, m.cluster.indexOf('/'));
    const key = `${org}/${m.member}`;
    const previous = rows.get(key);
    if (previous === undefined || (!previous.healthy && m.healthy)) {
      rows.set(key, { org_id: org, gateway_name: m.member, node_id: nodeId, healthy: m.healthy, reason: m.reason.slice(0, 500) });
    }
  }
  return [...rows.values()];
}
