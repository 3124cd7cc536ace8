import type { Sql, Tx } from './database.ts';

/** `unknown`: never checked and sends no heartbeats; it still receives traffic. */
type GatewayHealthState = 'healthy' | 'unhealthy' | 'unknown';

export interface GatewayHealth {
  readonly state: GatewayHealthState;
  readonly reason: string;
  readonly lastHeartbeatAt: string | null;
  readonly checkedAt: string | null;
}

export interface HealthSettings {
  /** A gateway that sends heartbeats is down once its last one is older than this. */
  readonly heartbeatTtlMs: number;
  /** Runtime check reports older than this no longer count. */
  readonly reportFreshnessMs: number;
}

interface HealthRow {
  name: string;
  last_heartbeat_at: Date | null;
  fresh_reports: number;
  healthy_reports: number;
  last_checked_at: Date | null;
  last_failure: string | null;
}

/**
 * The documented rule (docs/admin-api.md, "Gateway health"): a gateway is unhealthy when
 * it sends heartbeats and the last one is older than the TTL, or when every runtime that
 * checked it recently saw it fail; unknown when it neither sends heartbeats nor was
 * checked recently; healthy otherwise.
 */
function gatewayHealth(row: HealthRow, settings: HealthSettings, now: number): GatewayHealth {
  const lastHeartbeatAt = row.last_heartbeat_at?.toISOString() ?? null;
  const checkedAt = row.last_checked_at?.toISOString() ?? null;
  const base = { lastHeartbeatAt, checkedAt };
  if (row.last_heartbeat_at !== null && now - row.last_heartbeat_at.getTime() > settings.heartbeatTtlMs) {
    return { ...base, state: 'unhealthy', reason: `no heartbeat since ${lastHeartbeatAt}` };
  }
  if (row.fresh_reports > 0 && row.healthy_reports === 0) {
    return { ...base, state: 'unhealthy', reason: `health check failing: ${row.last_failure ?? 'unknown reason'}` };
  }
  if (row.fresh_reports === 0 && row.last_heartbeat_at === null) {
    return { ...base, state: 'unknown', reason: 'not checked yet' };
  }
  return { ...base, state: 'healthy', reason: row.fresh_reports > 0 ? `${row.healthy_reports}/${row.fresh_reports} runtime(s) see it healthy` : 'heartbeat current' };
}

/** Health of the named gateways of one org (all of its gateways when `names` is undefined). */
export async function loadGatewayHealth(db: Sql | Tx, org: string, settings: HealthSettings, names?: readonly string[]): Promise<Map<string, GatewayHealth>> {
  const filter = names === undefined ? db`` : db`AND g.name IN ${db(names as string[])}`;
  if (names !== undefined && names.length === 0) return new Map();
  const freshness = `${settings.reportFreshnessMs} milliseconds`;
  const rows = await db<HealthRow[]>`
    SELECT g.name, g.last_heartbeat_at,
      count(r.*) FILTER (WHERE r.checked_at > now() - ${freshness}::interval)::int AS fresh_reports,
      count(r.*) FILTER (WHERE r.checked_at > now() - ${freshness}::interval AND r.healthy)::int AS healthy_reports,
      max(r.checked_at) AS last_checked_at,
      (SELECT reason FROM gateway_health_reports f WHERE f.org_id = g.org_id AND f.gateway_name = g.name AND NOT f.healthy
        ORDER BY f.checked_at DESC LIMIT 1) AS last_failure
    FROM gateways g
    LEFT JOIN gateway_health_reports r ON r.org_id = g.org_id AND r.gateway_name = g.name
    WHERE g.org_id = ${org} ${filter}
    GROUP BY g.org_id, g.name, g.last_heartbeat_at`;
  const now = Date.now();
  return new Map(rows.map((row) => [row.name, gatewayHealth(row, settings, now)]));
}

export type PoolStatus = 'healthy' | 'degraded' | 'down';

/** `healthy` when every member is (unknown counts as healthy), `down` when none is or there are none. */
export function poolStatus(members: readonly GatewayHealth[]): { status: PoolStatus; healthy: number; total: number } {
  const healthy = members.filter((m) => m.state !== 'unhealthy').length;
  const total = members.length;
  const status: PoolStatus = total === 0 || healthy === 0 ? 'down' : healthy === total ? 'healthy' : 'degraded';
  return { status, healthy, total };
}
