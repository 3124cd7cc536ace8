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
