import type { RuntimeIdentity, RuntimeStream } from '../xds-server/stream-callbacks.ts';
import type { Sql } from './database.ts';

/**
 * Announced after a write that may change a deployment's status (an API answered, a
 * resource rejected, a runtime come or gone), so that replicas waiting on deployments
 * look again. Only a wake-up: they also look on a timer.
 */
const RUNTIME_STATUS_CHANNEL = 'causeway_runtime_status';

/**
 * A runtime's row now belongs to `stream` of this replica. Rows are written with the
 * replica and the stream's connection time, so that only the newest stream of a runtime
 * (on any replica) may record its progress or mark it disconnected.
 */
export async function recordRuntimeConnected(sql: Sql, controllerId: string, stream: RuntimeStream, runtime: RuntimeIdentity, appliedRevision: number): Promise<void> {
  const certificate = runtime.certificate;
  await sql`
    INSERT INTO runtimes (node_id, zone, labels, version, controller_id, connected, connected_at, last_seen_at, applied_revision,
                          org_id, certified, certificate_serial, certificate_expires_at)
    VALUES (${runtime.nodeId}, ${runtime.zone}, ${sql.json(runtime.labels)}, ${runtime.version}, ${controllerId},
            true, ${stream.connectedAt}, now(), ${appliedRevision},
            ${runtime.org}, ${certificate !== undefined}, ${certificate?.serial ?? null}, ${certificate?.notAfter ?? null})
    ON CONFLICT (node_id) DO UPDATE SET zone = excluded.zone, labels = excluded.labels, version = excluded.version,
      controller_id = excluded.controller_id, connected = true, connected_at = excluded.connected_at,
      last_seen_at = now(), applied_revision = GREATEST(runtimes.applied_revision, excluded.applied_revision),
      org_id = excluded.org_id, certified = excluded.certified, certificate_serial = excluded.certificate_serial,
      certificate_expires_at = excluded.certificate_expires_at`;
}

/** The last NACK of a runtime, shown with it. */
export async function recordRuntimeNack(sql: Sql, controllerId: string, stream: RuntimeStream, nack: { revision: number; typeUrl: string; message: string }): Promise<void> {
  await sql`
    UPDATE runtimes SET last_nack_revision = ${nack.revision}, last_nack_type = ${nack.typeUrl}, last_nack_error = ${nack.message},
      last_nack_at = now(), last_seen_at = now()
    WHERE node_id = ${stream.nodeId} AND controller_id = ${controllerId} AND connected_at = ${stream.connectedAt}`;
}

/** The last rejection of one resource by one runtime, for deployment status. */
export async function recordResourceRejection(sql: Sql, nodeId: string, rejection: { kind: string; name: string; version: number; message: string }): Promise<void> {
  await sql`
    INSERT INTO runtime_nacks (node_id, resource_type, resource_name, version, error)
    VALUES (${nodeId}, ${rejection.kind}, ${rejection.name}, ${rejection.version}, ${rejection.message})
    ON CONFLICT (node_id, resource_type, resource_name) DO UPDATE
    SET version = excluded.version, error = excluded.error, at = now()`;
}

/** Only if no newer stream of the same runtime (on any replica) took its row over meanwhile. */
export async function recordRuntimeDisconnected(sql: Sql, controllerId: string, stream: RuntimeStream): Promise<void> {
  await sql`
    UPDATE runtimes SET connected = false, last_seen_at = now()
    WHERE node_id = ${stream.nodeId} AND controller_id = ${controllerId} AND connected_at = ${stream.connectedAt}`;
}

export interface RuntimeProgress {
  readonly nodeId: string;
  readonly connectedAt: Date;
  readonly applied: number;
  readonly acked: number;
  readonly apiAcked: number;
}

/**
 * The progress of many runtimes in one statement (revisions only move forward). Returns
 * the node ids whose row still belongs to the stream given; the others were taken over.
 */
export async function recordRuntimeProgress(sql: Sql, controllerId: string, progress: readonly RuntimeProgress[]): Promise<Set<string>> {
  const rows = progress.map((p) => ({ node_id: p.nodeId, connected_at: p.connectedAt.toISOString(), applied: p.applied, acked: p.acked, api_acked: p.apiAcked }));
  const owned = await sql<{ node_id: string }[]>`
    UPDATE runtimes r SET applied_revision = GREATEST(r.applied_revision, p.applied),
      acked_revision = GREATEST(r.acked_revision, p.acked),
      api_acked_revision = GREATEST(r.api_acked_revision, p.api_acked), last_seen_at = now()
    FROM jsonb_to_recordset(${sql.json(rows)}) AS p(node_id text, connected_at timestamptz, applied bigint, acked bigint, api_acked bigint)
    WHERE r.node_id = p.node_id AND r.controller_id = ${controllerId} AND r.connected_at = p.connected_at
    RETURNING r.node_id`;
  return new Set(owned.map((row) => row.node_id));
}

/** What a runtime's health checks saw of a gateway. */
export interface GatewayHealthReport {
  readonly org: string;
  readonly gateway: string;
  readonly nodeId: string;
  readonly healthy: boolean;
  readonly reason: string;
}

/** Many runtimes' reports in one statement; reports of gateways that no longer exist are dropped. */
export async function recordGatewayHealth(sql: Sql, reports: readonly GatewayHealthReport[]): Promise<void> {
  const rows = reports.map((r) => ({ org_id: r.org, gateway_name: r.gateway, node_id: r.nodeId, healthy: r.healthy, reason: r.reason }));
  await sql`
    INSERT INTO gateway_health_reports (org_id, gateway_name, node_id, healthy, reason, checked_at)
    SELECT r.org_id, r.gateway_name, r.node_id, r.healthy, r.reason, now()
    FROM jsonb_to_recordset(${sql.json(rows)}) AS r(org_id text, gateway_name text, node_id text, healthy boolean, reason text)
    JOIN gateways g ON g.org_id = r.org_id AND g.name = r.gateway_name
    ON CONFLICT (org_id, gateway_name, node_id) DO UPDATE
    SET healthy = excluded.healthy, reason = excluded.reason, checked_at = excluded.checked_at`;
}

export async function announceRuntimeStatus(sql: Sql): Promise<void> {
  await sql`SELECT pg_notify(${RUNTIME_STATUS_CHANNEL}, '')`;
}

/** Calls `onChange` on every announcement (and on every reconnect, when some may have been missed). */
export async function listenForRuntimeStatus(sql: Sql, onChange: () => void): Promise<() => Promise<void>> {
  const listener = await sql.listen(RUNTIME_STATUS_CHANNEL, onChange, onChange);
  return listener.unlisten;
}

/** A runtime as its replica last recorded it. */
export interface RuntimeRecord {
  readonly nodeId: string;
  /** The org it serves; null: every org (shared, or streaming without TLS). */
  readonly org: string | null;
  /** The client certificate it streams with; null when its identity was only claimed (no TLS). */
  readonly certificate: { readonly serial: string | null; readonly expiresAt: Date | null } | null;
  readonly revoked: boolean;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly version: string;
  readonly controllerId: string | null;
  readonly connected: boolean;
  readonly connectedAt: Date | null;
  readonly lastSeenAt: Date;
  readonly appliedRevision: number;
  readonly ackedRevision: number;
  readonly lastNack: { readonly revision: number; readonly type: string | null; readonly error: string | null; readonly at: Date | null } | null;
}

interface RuntimeRow {
  node_id: string;
  org_id: string | null;
  certified: boolean;
  certificate_serial: string | null;
  certificate_expires_at: Date | null;
  revoked: boolean;
  zone: string;
  labels: Record<string, string>;
  version: string;
  controller_id: string | null;
  connected: boolean;
  connected_at: Date | null;
  last_seen_at: Date;
  applied_revision: number;
  acked_revision: number;
  last_nack_revision: number | null;
  last_nack_type: string | null;
  last_nack_error: string | null;
  last_nack_at: Date | null;
}

/**
 * Every runtime recorded (those gone for a day are removed by the chores); given an org,
 * those that serve it: its own and the shared ones.
 */
export async function listRuntimes(sql: Sql, org?: string): Promise<RuntimeRecord[]> {
  const rows = await sql<RuntimeRow[]>`
    SELECT r.*, EXISTS (SELECT 1 FROM runtime_revocations v WHERE v.node_id = r.node_id) AS revoked
    FROM runtimes r
    ${org === undefined ? sql`` : sql`WHERE r.org_id IS NULL OR r.org_id = ${org}`}
    ORDER BY r.node_id`;
  return rows.map((row) => ({
    nodeId: row.node_id,
    org: row.org_id,
    certificate: row.certified ? { serial: row.certificate_serial, expiresAt: row.certificate_expires_at } : null,
    revoked: row.revoked,
    zone: row.zone,
    labels: row.labels,
    version: row.version,
    controllerId: row.controller_id,
    connected: row.connected,
    connectedAt: row.connected_at,
    lastSeenAt: row.last_seen_at,
    appliedRevision: row.applied_revision,
    ackedRevision: row.acked_revision,
    lastNack:
      row.last_nack_revision === null
        ? null
        : { revision: row.last_nack_revision, type: row.last_nack_type, error: row.last_nack_error, at: row.last_nack_at },
  }));
}
