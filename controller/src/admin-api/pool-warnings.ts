import type { Sql } from '../store/database.ts';
import { loadGatewayHealth, type HealthSettings } from '../store/gateway-health.ts';
import type { ApiSpec, Kind, PoolSpec } from '../store/records.ts';
import type { ResourceStore } from '../store/resource-store.ts';

export interface WrittenDocument {
  readonly kind: Kind;
  readonly name: string;
  readonly spec: unknown;
}

/**
 * What a write that puts APIs on pools should tell its caller: each pool with no member that
 * could serve (empty, or every member known to be down). A member no runtime has checked yet
 * is unknown, not down: nothing checks a pool no API uses, so a new pool must not warn on its
 * first API (the console's rule, docs/decisions.md). A pool written by the same documents
 * counts as written, so a dry run warns as the write would.
 */
export async function unhealthyPoolWarnings(sql: Sql, health: HealthSettings, store: ResourceStore, docs: readonly WrittenDocument[]): Promise<string[]> {
  const poolNames = new Set(docs.flatMap((d) => (d.kind === 'Api' && 'pool' in (d.spec as ApiSpec).upstream ? [((d.spec as ApiSpec).upstream as { pool: string }).pool] : [])));
  if (poolNames.size === 0) return [];
  // One read whatever the size of an apply: the pools it writes, then those stored.
  const membersOf = new Map(docs.filter((d) => d.kind === 'GatewayPool').map((d) => [d.name, (d.spec as PoolSpec).members]));
  if ([...poolNames].some((name) => !membersOf.has(name))) {
    for (const stored of await store.list('GatewayPool')) if (!membersOf.has(stored.name)) membersOf.set(stored.name, stored.spec.members);
  }
  const pools = [...poolNames].flatMap((name) => {
    const members = membersOf.get(name);
    return members === undefined ? [] : [{ name, members }];
  });
  const healthByGateway = await loadGatewayHealth(sql, store.orgName, health, [...new Set(pools.flatMap((p) => p.members))]);
  return pools
    .filter((p) => p.members.every((gateway) => healthByGateway.get(gateway)?.state === 'unhealthy'))
    .map((p) => `pool "${p.name}" has no healthy member (0/${p.members.length} healthy): requests will get 503 until one is`);
}

/** The same warnings as `Warning: 199 causeway "…"` header values (RFC 7234: a quoted string, `"` and `\` escaped). */
export function warningHeaders(warnings: readonly string[]): string[] {
  return warnings.map((w) => `199 causeway "${w.replace(/["\\]/g, (c) => `\\${c}`)}"`);
}
