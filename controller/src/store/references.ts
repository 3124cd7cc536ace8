import { CausewayError } from '@causeway/shared';
import type { Tx } from './database.ts';
import { apisUsing } from './pool-usage.ts';
import type { ApiSpec } from './records.ts';

/*
 * What a write must not break: references that must exist, and removals that would leave
 * APIs failing over to nothing or served by an empty pool (allowed only when forced).
 */

/**
 * An API's failover list may only name zones that exist and take failover traffic. The
 * rows are locked (shared) so that a concurrent delete or update of such a zone waits.
 */
export async function checkFailoverZones(tx: Tx, api: ApiSpec): Promise<void> {
  const zones = api.failover.zones;
  if (zones.length === 0) return;
  const rows = await tx<{ name: string; eligible: boolean }[]>`
    SELECT name, COALESCE((spec->>'failoverEligible')::boolean, true) AS eligible
    FROM zones WHERE name IN ${tx(zones as string[])} FOR SHARE`;
  const found = new Map(rows.map((r) => [r.name, r.eligible]));
  const details = zones.flatMap((zone, i) => {
    const eligible = found.get(zone);
    if (eligible === true) return [];
    const message = eligible === undefined ? `zone "${zone}" does not exist` : `zone "${zone}" is not failover-eligible (spec.failoverEligible: false)`;
    return [{ path: `spec.failover.zones[${i}]`, message }];
  });
  if (details.length > 0) throw CausewayError.invalid(details);
}

function listed(names: readonly string[], max = 10): string {
  const shown = names.slice(0, max).map((n) => `"${n}"`).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/**
 * Zones are shared: the APIs of every org that fail over to one keep it (named org/api),
 * from being deleted or, with `change` "made not failover-eligible", from leaving failover.
 */
export async function refuseDeletingFailoverZone(tx: Tx, zone: string, change = 'delete'): Promise<void> {
  const rows = await tx<{ org_id: string; name: string }[]>`
    SELECT org_id, name FROM apis WHERE spec->'failover'->'zones' ? ${zone} ORDER BY org_id, name`;
  if (rows.length === 0) return;
  throw new CausewayError(
    'conflict',
    `zone "${zone}" is in the failover list of ${rows.length === 1 ? 'API' : 'APIs'} ${listed(rows.map((r) => `${r.org_id}/${r.name}`))}; ` +
      `change them first, or ${change} with ?force=true`,
  );
}

/** The APIs of a pool, when the pool is used: emptying it would turn every request to them into a 503. */
export async function refuseEmptyingUsedPool(tx: Tx, org: string, pool: string): Promise<void> {
  const users = await apisUsing(tx, 'GatewayPool', org, pool);
  if (users.length === 0) return;
  throw lastMemberConflict(pool, users);
}

/** Deleting a gateway removes it from its pools: refused when it is the last member of a pool that APIs use. */
export async function refuseEmptyingUsedPools(tx: Tx, org: string, gateway: string): Promise<void> {
  const rows = await tx<{ pool: string; api: string }[]>`
    SELECT gm.pool_name AS pool, a.name AS api FROM gateway_pool_members gm
    JOIN apis a ON a.org_id = gm.org_id AND a.upstream_pool = gm.pool_name
    WHERE gm.org_id = ${org} AND gm.gateway_name = ${gateway}
      AND NOT EXISTS (SELECT 1 FROM gateway_pool_members other
                      WHERE other.org_id = gm.org_id AND other.pool_name = gm.pool_name AND other.gateway_name <> gm.gateway_name)
    ORDER BY gm.pool_name, a.name`;
  const first = rows[0];
  if (first === undefined) return;
  throw lastMemberConflict(first.pool, rows.filter((r) => r.pool === first.pool).map((r) => r.api), gateway);
}

export function lastMemberConflict(pool: string, apis: readonly string[], gateway?: string): CausewayError {
  const what = gateway === undefined ? `gateway pool "${pool}" would have no member` : `gateway "${gateway}" is the last member of gateway pool "${pool}"`;
  return new CausewayError(
    'conflict',
    `${what} while ${apis.length === 1 ? 'API' : 'APIs'} ${listed(apis)} ${apis.length === 1 ? 'uses' : 'use'} it ` +
      '(every request to them would be a 503); add a member first, or repeat with ?force=true',
  );
}
