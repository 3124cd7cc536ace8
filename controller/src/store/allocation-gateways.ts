import type { Sql, Tx } from './database.ts';
import { loadGatewayHealth, type GatewayHealth, type HealthSettings } from './gateway-health.ts';
import type { Mutation } from './mutate.ts';

type Db = Sql | Tx;

/**
 * What each member of a pool is, as far as allocation goes, each counted once in the first
 * that applies: held by an allocation, named by an API directly (a route that still points
 * at it), quarantined, unhealthy; the rest is free.
 */
export interface PoolAvailability {
  readonly members: number;
  readonly allocated: number;
  readonly inUse: number;
  readonly quarantined: number;
  readonly unhealthy: number;
  readonly free: readonly string[];
}

/** Gateways of `org` that are quarantined and have not been seen healthy since. */
async function quarantinedGateways(db: Db, org: string): Promise<Set<string>> {
  const rows = await db<{ gateway_name: string }[]>`
    SELECT q.gateway_name FROM gateway_quarantines q JOIN gateways g ON g.org_id = q.org_id AND g.name = q.gateway_name
    WHERE q.org_id = ${org}
      AND NOT COALESCE(g.last_heartbeat_at > q.since, false)
      AND NOT EXISTS (SELECT 1 FROM gateway_health_reports r
                      WHERE r.org_id = q.org_id AND r.gateway_name = q.gateway_name AND r.healthy AND r.checked_at > q.since)`;
  return new Set(rows.map((r) => r.gateway_name));
}

/** Availability of each of the given pools (name and members) of one org. */
export async function poolAvailability(
  db: Db,
  org: string,
  pools: readonly { readonly name: string; readonly members: readonly string[] }[],
  health: ReadonlyMap<string, GatewayHealth>,
): Promise<Map<string, PoolAvailability>> {
  const held = new Set((await db<{ name: string }[]>`SELECT gateway_name AS name FROM allocations WHERE org_id = ${org} AND holds_gateway`).map((r) => r.name));
  const named = new Set(
    (await db<{ name: string }[]>`SELECT DISTINCT upstream_gateway AS name FROM apis WHERE org_id = ${org} AND upstream_gateway IS NOT NULL`).map((r) => r.name),
  );
  const quarantined = await quarantinedGateways(db, org);
  const result = new Map<string, PoolAvailability>();
  for (const pool of pools) {
    const counts = { members: pool.members.length, allocated: 0, inUse: 0, quarantined: 0, unhealthy: 0 };
    const free: string[] = [];
    for (const gateway of pool.members) {
      if (held.has(gateway)) counts.allocated++;
      else if (named.has(gateway)) counts.inUse++;
      else if (quarantined.has(gateway)) counts.quarantined++;
      else if (health.get(gateway)?.state === 'unhealthy') counts.unhealthy++;
      else free.push(gateway);
    }
    result.set(pool.name, { ...counts, free });
  }
  return result;
}

/** The members of a pool, with a key-share lock on the pool so it is not deleted meanwhile; undefined when there is no such pool. */
async function lockedMembers(tx: Tx, org: string, pool: string): Promise<string[] | undefined> {
  const [found] = await tx`SELECT 1 FROM gateway_pools WHERE org_id = ${org} AND name = ${pool} FOR KEY SHARE`;
  if (found === undefined) return undefined;
  const rows = await tx<{ name: string }[]>`
    SELECT gateway_name AS name FROM gateway_pool_members WHERE org_id = ${org} AND pool_name = ${pool} ORDER BY gateway_name`;
  return rows.map((r) => r.name);
}

export type Reservation =
  | { readonly gateway: string }
  | { readonly gateway: undefined; readonly availability: PoolAvailability | undefined };

/**
 * Picks a free member of the pool and locks its membership row (SKIP LOCKED: replicas
 * reserving at once take different members). The caller marks it held in the same
 * transaction; the unique index on held gateways is the last word on a race.
 * `availability` undefined: there is no such pool.
 */
export async function pickGateway(m: Mutation, org: string, pool: string, health: HealthSettings): Promise<Reservation> {
  const members = await lockedMembers(m.tx, org, pool);
  if (members === undefined) return { gateway: undefined, availability: undefined };
  const healthByGateway = await loadGatewayHealth(m.tx, org, health, members);
  const availability = (await poolAvailability(m.tx, org, [{ name: pool, members }], healthByGateway)).get(pool);
  const free = availability?.free ?? [];
  const [row] = free.length === 0 ? [] : await m.tx<{ name: string }[]>`
    SELECT gateway_name AS name FROM gateway_pool_members gm
    WHERE gm.org_id = ${org} AND gm.pool_name = ${pool} AND gm.gateway_name = ANY(${free as string[]}::text[])
      AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.org_id = gm.org_id AND a.gateway_name = gm.gateway_name AND a.holds_gateway)
    ORDER BY gm.gateway_name LIMIT 1 FOR UPDATE SKIP LOCKED`;
  if (row === undefined) return { gateway: undefined, availability };
  // Seen healthy since its quarantine (that is why it is free): the quarantine is over.
  await m.tx`DELETE FROM gateway_quarantines WHERE org_id = ${org} AND gateway_name = ${row.name}`;
  return { gateway: row.name };
}

/** Keeps a gateway out of allocations until it is seen healthy again (or the allocation is released). */
export async function quarantineGateway(m: Mutation, org: string, gateway: string, allocationId: string, reason: string): Promise<void> {
  await m.tx`
    INSERT INTO gateway_quarantines (org_id, gateway_name, reason, allocation_id)
    SELECT ${org}, ${gateway}, ${reason}, ${allocationId} WHERE EXISTS (SELECT 1 FROM gateways WHERE org_id = ${org} AND name = ${gateway})
    ON CONFLICT (org_id, gateway_name) DO UPDATE SET since = now(), reason = excluded.reason, allocation_id = excluded.allocation_id`;
}

/** Ends the quarantine an allocation put its gateway in; false when there was none. */
export async function liftQuarantine(m: Mutation, org: string, gateway: string, allocationId: string): Promise<boolean> {
  const result = await m.tx`DELETE FROM gateway_quarantines WHERE org_id = ${org} AND gateway_name = ${gateway} AND allocation_id = ${allocationId}`;
  return result.count === 1;
}
