import { CausewayError } from '@causeway/shared';
import type { Tx } from './database.ts';
import type { ApiSpec } from './records.ts';
import { inItem, type PutItem } from './write-items.ts';

/** Method lists overlap when either is empty (every method) or they share one. */
function methodsOverlap(a: readonly string[], b: readonly string[]): boolean {
  if (a.length === 0 || b.length === 0) return true;
  return a.some((x) => b.includes(x));
}

/**
 * Whether one runtime can serve both APIs: unless their selectors require different values
 * of one label, a runtime with both labels serves both. Orgs do not keep APIs apart: a
 * shared runtime serves every org.
 */
function canMeet(a: ApiSpec, b: ApiSpec): boolean {
  const x = a.runtimeSelector.matchLabels;
  const y = b.runtimeSelector.matchLabels;
  for (const key in x) if (Object.hasOwn(y, key) && x[key] !== y[key]) return false;
  return true;
}

/** Whether two APIs claim the same base path for a same host and method on a runtime that serves both. */
function routesClash(a: ApiSpec, b: ApiSpec): boolean {
  if (a.basePath !== b.basePath || !canMeet(a, b)) return false;
  const hostsClash = a.hosts.length === 0 ? b.hosts.length === 0 : a.hosts.some((h) => b.hosts.includes(h));
  return hostsClash && methodsOverlap(a.methods, b.methods);
}

function routeConflict(api: ApiSpec, owner: string): CausewayError {
  return new CausewayError('conflict', `base path "${api.basePath}" is already served by ${owner} for the same hosts and methods`, {
    details: [{ path: 'spec.basePath', message: `"${api.basePath}" is already used by ${owner}` }],
  });
}

/**
 * Two APIs that can meet on one runtime may not claim the same base path for the same
 * host and method: the runtime could not tell which one a request is for. Runs after the revision lock is taken, so
 * two writers cannot both pass it.
 */
export async function checkRouteConflicts(tx: Tx, org: string, name: string, api: ApiSpec): Promise<void> {
  const rows = await tx<{ org_id: string; name: string; spec: ApiSpec }[]>`
    SELECT org_id, name, spec FROM apis WHERE base_path = ${api.basePath} AND NOT (org_id = ${org} AND name = ${name})`;
  for (const other of rows) {
    if (routesClash(api, other.spec)) throw routeConflict(api, other.org_id === org ? `API "${other.name}"` : "another organisation's API");
  }
}

/**
 * checkRouteConflicts for every API of a many-resource write, in one query (after the
 * revision lock is taken): against the stored APIs that the write does not replace. The
 * APIs of the write are compared with each other by checkBatchRoutes.
 */
export async function checkBatchRoutesAgainstStore(tx: Tx, org: string, items: readonly PutItem[]): Promise<void> {
  const apis = items.flatMap((item, index) => (item.kind === 'Api' ? [{ item, index, api: item.spec as ApiSpec }] : []));
  if (apis.length === 0) return;
  const replaced = new Set(apis.map((a) => a.item.name));
  const basePaths = [...new Set(apis.map((a) => a.api.basePath))];
  const rows = await tx<{ org_id: string; name: string; base_path: string; spec: ApiSpec }[]>`
    SELECT org_id, name, base_path, spec FROM apis WHERE base_path = ANY(${basePaths}::text[])`;
  const stored = new Map<string, (typeof rows)[number][]>();
  for (const row of rows) if (!(row.org_id === org && replaced.has(row.name))) stored.set(row.base_path, [...(stored.get(row.base_path) ?? []), row]);
  for (const { item, index, api } of apis) {
    const other = stored.get(api.basePath)?.find((row) => routesClash(api, row.spec));
    if (other !== undefined) {
      throw inItem(item.index ?? index, item, routeConflict(api, other.org_id === org ? `API "${other.name}"` : "another organisation's API"));
    }
  }
}

/** The APIs of one many-resource write must not clash with each other either. */
export function checkBatchRoutes(items: readonly PutItem[]): void {
  const byBasePath = new Map<string, { item: PutItem; index: number }[]>();
  items.forEach((item, index) => {
    if (item.kind !== 'Api') return;
    const api = item.spec as ApiSpec;
    const earlier = byBasePath.get(api.basePath) ?? [];
    const clash = earlier.find((e) => routesClash(api, e.item.spec as ApiSpec));
    if (clash !== undefined) throw inItem(item.index ?? index, item, routeConflict(api, `API "${clash.item.name}"`));
    byBasePath.set(api.basePath, [...earlier, { item, index }]);
  });
}
