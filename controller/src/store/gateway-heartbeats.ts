import type { Sql } from './database.ts';
import { mutate } from './mutate.ts';
import { recordPoolsOfGateway } from './resource-store.ts';

/**
 * Marks gateways whose heartbeats stopped (older than the TTL) as expired, and those that
 * beat again as not, each flip as a mutation so every runtime skips (or uses again) the
 * member. Gateways that never sent a heartbeat are never expired. Returns the flips.
 */
export async function refreshHeartbeatExpiry(sql: Sql, ttlMs: number): Promise<number> {
  const ttl = `${ttlMs} milliseconds`;
  const [due] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM gateways
    WHERE last_heartbeat_at IS NOT NULL AND heartbeat_expired <> (last_heartbeat_at < now() - ${ttl}::interval)`;
  if ((due?.n ?? 0) === 0) return 0;
  const { result } = await mutate(sql, async (m) => {
    const flipped = await m.tx<{ org_id: string; name: string }[]>`
      UPDATE gateways SET heartbeat_expired = NOT heartbeat_expired, revision = ${m.revision}, updated_at = now()
      WHERE last_heartbeat_at IS NOT NULL AND heartbeat_expired <> (last_heartbeat_at < now() - ${ttl}::interval)
      RETURNING org_id, name`;
    for (const gateway of flipped) {
      m.record({ kind: 'Gateway', org: gateway.org_id, name: gateway.name, op: 'upsert' });
      await recordPoolsOfGateway(m, gateway.org_id, gateway.name);
    }
    return flipped.length;
  });
  return result;
}

/** Records a heartbeat; a gateway that was marked expired is brought back at once. */
export async function recordHeartbeat(sql: Sql, org: string, name: string): Promise<Date | undefined> {
  const [row] = await sql<{ last_heartbeat_at: Date; heartbeat_expired: boolean }[]>`
    UPDATE gateways SET last_heartbeat_at = now() WHERE org_id = ${org} AND name = ${name}
    RETURNING last_heartbeat_at, heartbeat_expired`;
  if (row === undefined) return undefined;
  if (row.heartbeat_expired) {
    await mutate(sql, async (m) => {
      const revived = await m.tx`UPDATE gateways SET heartbeat_expired = false, revision = ${m.revision}, updated_at = now()
                                 WHERE org_id = ${org} AND name = ${name} AND heartbeat_expired`;
      if (revived.count === 0) return;
      m.record({ kind: 'Gateway', org, name, op: 'upsert' });
      await recordPoolsOfGateway(m, org, name);
    });
  }
  return row.last_heartbeat_at;
}
