import type { Logger } from '@causeway/shared';
import type { Sql } from '../store/database.ts';
import type { ControllerMetrics } from '../metrics.ts';

export interface RuntimeIdentity {
  readonly nodeId: string;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly version: string;
}

/**
 * Records in Postgres what the runtimes streaming from this replica do. Writes never
 * hold up a stream: a failed write is logged and counted, and the next one repairs it.
 */
export class RuntimeRegistry {
  private readonly sql: Sql;
  private readonly controllerId: string;
  private readonly log: Logger;
  private readonly metrics: ControllerMetrics;
  private readonly chains = new Map<string, Promise<void>>();

  constructor(options: { sql: Sql; controllerId: string; log: Logger; metrics: ControllerMetrics }) {
    this.sql = options.sql;
    this.controllerId = options.controllerId;
    this.log = options.log;
    this.metrics = options.metrics;
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

  acked(nodeId: string, revision: number): void {
    this.run(nodeId, 'runtime_acked', () => this.sql`
      UPDATE runtimes SET acked_revision = GREATEST(acked_revision, ${revision}),
        applied_revision = GREATEST(applied_revision, ${revision}), last_seen_at = now()
      WHERE node_id = ${nodeId}`);
  }

  nacked(nodeId: string, revision: number, typeUrl: string, message: string): void {
    this.run(nodeId, 'runtime_nacked', () => this.sql`
      UPDATE runtimes SET last_nack_revision = ${revision}, last_nack_type = ${typeUrl}, last_nack_error = ${message},
        last_nack_at = now(), last_seen_at = now()
      WHERE node_id = ${nodeId}`);
  }

  /** Every API response up to `revision` was answered by this runtime. */
  apiSettled(nodeId: string, revision: number): void {
    this.run(nodeId, 'runtime_api_settled', () => this.sql`
      UPDATE runtimes SET api_acked_revision = GREATEST(api_acked_revision, ${revision}), last_seen_at = now()
      WHERE node_id = ${nodeId}`);
  }

  resourceRejected(nodeId: string, kind: string, name: string, version: number, error: string): void {
    this.run(nodeId, 'runtime_resource_rejected', () => this.sql`
      INSERT INTO runtime_nacks (node_id, resource_type, resource_name, version, error)
      VALUES (${nodeId}, ${kind}, ${name}, ${version}, ${error})
      ON CONFLICT (node_id, resource_type, resource_name) DO UPDATE
      SET version = excluded.version, error = excluded.error, at = now()`);
  }

  /** What the runtime's health checks see of each member (gateway) of its clusters. */
  healthReported(nodeId: string, members: readonly { cluster: string; member: string; healthy: boolean; reason: string }[]): void {
    if (members.length === 0) return;
    // Cluster names are "<org>/pool/<name>" or "<org>/gateway/<name>"; members are gateways.
    const seen = new Map<string, { org: string; gateway: string; healthy: boolean; reason: string }>();
    for (const m of members) {
      const org = m.cluster.slice(0, m.cluster.indexOf('/'));
      const key = `${org}/${m.member}`;
      const previous = seen.get(key);
      // A gateway in two clusters counts as healthy if either check passes.
      if (previous === undefined || (!previous.healthy && m.healthy)) seen.set(key, { org, gateway: m.member, healthy: m.healthy, reason: m.reason.slice(0, 500) });
    }
    const rows = [...seen.values()];
    this.run(nodeId, 'runtime_health_reported', () => this.sql`
      INSERT INTO gateway_health_reports (org_id, gateway_name, node_id, healthy, reason, checked_at)
      SELECT r.org_id, r.gateway_name, ${nodeId}, r.healthy, r.reason, now()
      FROM jsonb_to_recordset(${this.sql.json(rows.map((r) => ({ org_id: r.org, gateway_name: r.gateway, healthy: r.healthy, reason: r.reason })))})
           AS r(org_id text, gateway_name text, healthy boolean, reason text)
      JOIN gateways g ON g.org_id = r.org_id AND g.name = r.gateway_name
      ON CONFLICT (org_id, gateway_name, node_id) DO UPDATE
      SET healthy = excluded.healthy, reason = excluded.reason, checked_at = excluded.checked_at`);
  }

  reported(nodeId: string, appliedRevision: number): void {
    this.run(nodeId, 'runtime_reported', () => this.sql`
      UPDATE runtimes SET applied_revision = GREATEST(applied_revision, ${appliedRevision}), last_seen_at = now()
      WHERE node_id = ${nodeId}`);
  }

  disconnected(nodeId: string, connectedAt: Date): void {
    // Only if no newer stream of the same runtime (on any replica) took over meanwhile.
    this.run(nodeId, 'runtime_disconnected', () => this.sql`
      UPDATE runtimes SET connected = false, last_seen_at = now()
      WHERE node_id = ${nodeId} AND controller_id = ${this.controllerId} AND connected_at = ${connectedAt}`);
  }

  /** Writes of one runtime run one after another, in the order they were made. */
  private run(nodeId: string, operation: string, query: () => PromiseLike<unknown>): void {
    const previous = this.chains.get(nodeId) ?? Promise.resolve();
    const next = previous
      .then(query)
      .then(
        () => undefined,
        (error: unknown) => {
          this.metrics.databaseErrors.inc({ operation });
          this.log.warn({ err: error, operation, node: nodeId }, 'recording runtime state failed');
        },
      );
    this.chains.set(nodeId, next);
    void next.then(() => {
      if (this.chains.get(nodeId) === next) this.chains.delete(nodeId);
    });
  }

  /** Resolves when every write made so far is done (used on shutdown). */
  async flush(): Promise<void> {
    await Promise.all(this.chains.values());
  }
}
