import { CausewayError } from '@causeway/shared';
import type { Sql, Tx } from './database.ts';

/** Names of the APIs of `org` whose upstream is this gateway or pool. */
export async function apisUsing(db: Sql | Tx, kind: 'Gateway' | 'GatewayPool', org: string, name: string): Promise<string[]> {
  const rows =
    kind === 'Gateway'
      ? await db<{ name: string }[]>`SELECT name FROM apis WHERE org_id = ${org} AND upstream_gateway = ${name} ORDER BY name`
      : await db<{ name: string }[]>`SELECT name FROM apis WHERE org_id = ${org} AND upstream_pool = ${name} ORDER BY name`;
  return rows.map((r) => r.name);
}

/** How many APIs of `org` use each pool (pools no API uses are absent). */
export async function poolUsageCounts(db: Sql | Tx, org: string): Promise<Map<string, number>> {
  const rows = await db<{ pool: string; n: number }[]>`
    SELECT upstream_pool AS pool, count(*)::int AS n FROM apis WHERE org_id = ${org} AND upstream_pool IS NOT NULL GROUP BY upstream_pool`;
  return new Map(rows.map((r) => [r.pool, r.n]));
}

/** The live allocations of a pool (not rolled back or released): they hold, or may still hold, its gateways. */
export async function allocationsUsing(db: Sql | Tx, org: string, pool: string): Promise<{ id: string; tenant: string; state: string }[]> {
  return db<{ id: string; tenant: string; state: string }[]>`
    SELECT id, tenant, state FROM allocations
    WHERE org_id = ${org} AND pool_name = ${pool} AND state IN ('pending', 'ready', 'rolling-back', 'releasing', 'failed')
    ORDER BY created_at, id`;
}

/**
 * A pool with live allocations is not deleted, even with force: the database would take
 * their records along while their routes and handshakes stand. Runs under the pool's row
 * lock, which an allocation's insert and reservation share, so none slips in meanwhile.
 */
export async function refuseDeletingAllocatedPool(tx: Tx, org: string, pool: string): Promise<void> {
  const live = await allocationsUsing(tx, org, pool);
  if (live.length === 0) return;
  const shown = live.slice(0, 10).map((a) => `${a.id} (tenant "${a.tenant}", ${a.state})`).join(', ');
  throw new CausewayError(
    'conflict',
    `gateway pool "${pool}" has ${live.length} live allocation(s): ${shown}${live.length > 10 ? ', …' : ''}; release them first (DELETE /v1/allocations/{id})`,
  );
}
