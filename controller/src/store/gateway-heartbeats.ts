import type { Sql } from './database.ts';
import { mutate, type AuditContext, type AuditEntry } from './mutate.ts';
import { recordPoolsOfGateway, type Scope } from './resource-store.ts';

/** Thrown inside a mutation that found nothing to change: it rolls back and takes no revision. */
const nothingToDo = Symbol('nothing to do');

/** The control plane marks a gateway down (or up again) by its heartbeats. */
function expiryEvent(org: string, gateway: string, expired: boolean): AuditEntry {
  return {
    org,
    action: expired ? 'gateway.heartbeat-expired' : 'gateway.heartbeat-resumed',
    resourceKind: 'gateway',
    resourceName: gateway,
    changes: [{ field: 'status.heartbeatExpired', before: !expired, after: expired }],
  };
}

/**
 * Marks gateways whose heartbeats stopped (older than the TTL) as expired, and those that
 * beat again as not, each flip as a mutation so every runtime skips (or uses again) the
 * member. Gateways that never sent a heartbeat are never expired. Returns the flips.
 */
export async function refreshHeartbeatExpiry(sql: Sql, ttlMs: number, audit: AuditContext): Promise<number> {
  const ttl = `${ttlMs} milliseconds`;
  const [due] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM gateways
    WHERE last_heartbeat_at IS NOT NULL AND heartbeat_expired <> (last_heartbeat_at < now() - ${ttl}::interval)`;
  if ((due?.n ?? 0) === 0) return 0;
  const outcome = await mutate(sql, audit, async (m) => {
    const flipped = await m.tx<{ org_id: string; name: string; heartbeat_expired: boolean }[]>`
      UPDATE gateways SET heartbeat_expired = NOT heartbeat_expired, revision = ${m.revision}, updated_at = now()
      WHERE last_heartbeat_at IS NOT NULL AND heartbeat_expired <> (last_heartbeat_at < now() - ${ttl}::interval)
      RETURNING org_id, name, heartbeat_expired`;
    for (const gateway of flipped) {
      m.record({ kind: 'Gateway', org: gateway.org_id, name: gateway.name, op: 'upsert' });
      m.audit(expiryEvent(gateway.org_id, gateway.name, gateway.heartbeat_expired));
      await recordPoolsOfGateway(m, gateway.org_id, gateway.name);
    }
    // Another replica flipped them first: roll back rather than take a revision for nothing.
    if (flipped.length === 0) throw nothingToDo;
    return flipped.length;
  }).catch((error: unknown) => {
    if (error === nothingToDo) return undefined;
    throw error;
  });
  return outcome?.result ?? 0;
}

/** Records a heartbeat; a gateway that was marked expired is brought back at once. */
export async function recordHeartbeat(sql: Sql, scope: Scope, name: string): Promise<Date | undefined> {
  const { org } = scope;
  const [row] = await sql<{ last_heartbeat_at: Date; heartbeat_expired: boolean }[]>`
    UPDATE gateways SET last_heartbeat_at = now() WHERE org_id = ${org} AND name = ${name}
    RETURNING last_heartbeat_at, heartbeat_expired`;
  if (row === undefined) return undefined;
  if (row.heartbeat_expired) {
    await mutate(sql, scope.audit, async (m) => {
      const revived = await m.tx`UPDATE gateways SET heartbeat_expired = false, revision = ${m.revision}, updated_at = now()
                                 WHERE org_id = ${org} AND name = ${name} AND heartbeat_expired`;
      if (revived.count === 0) throw nothingToDo;
      m.audit(expiryEvent(org, name, false));
      m.record({ kind: 'Gateway', org, name, op: 'upsert' });
      await recordPoolsOfGateway(m, org, name);
    }).catch((error: unknown) => {
      if (error !== nothingToDo) throw error;
    });
  }
  return row.last_heartbeat_at;
}
