import type { Sql } from './database.ts';

/** A controller replica as its heartbeat last described it. */
export interface ControllerRow {
  readonly id: string;
  readonly adminAddress: string;
  readonly xdsAddress: string;
  readonly version: string;
  readonly startedAt: Date;
  readonly appliedRevision: number;
  readonly connectedRuntimes: number;
}

/** Inserts or refreshes this replica's row (its last heartbeat is now). */
export async function recordControllerHeartbeat(sql: Sql, row: ControllerRow): Promise<void> {
  await sql`
    INSERT INTO controllers (id, admin_address, xds_address, version, started_at, last_heartbeat_at, applied_revision, connected_runtimes)
    VALUES (${row.id}, ${row.adminAddress}, ${row.xdsAddress}, ${row.version}, ${row.startedAt}, now(),
            ${row.appliedRevision}, ${row.connectedRuntimes})
    ON CONFLICT (id) DO UPDATE SET admin_address = excluded.admin_address, xds_address = excluded.xds_address,
      last_heartbeat_at = now(), applied_revision = excluded.applied_revision, connected_runtimes = excluded.connected_runtimes`;
}

/** Every replica heard from (rows of replicas gone for a day are removed by the chores). */
export async function listControllers(sql: Sql): Promise<(ControllerRow & { readonly lastHeartbeatAt: Date })[]> {
  const rows = await sql<{ id: string; admin_address: string; xds_address: string; version: string; started_at: Date; last_heartbeat_at: Date; applied_revision: number; connected_runtimes: number }[]>`
    SELECT * FROM controllers ORDER BY id`;
  return rows.map((r) => ({
    id: r.id,
    adminAddress: r.admin_address,
    xdsAddress: r.xds_address,
    version: r.version,
    startedAt: r.started_at,
    lastHeartbeatAt: r.last_heartbeat_at,
    appliedRevision: r.applied_revision,
    connectedRuntimes: r.connected_runtimes,
  }));
}
