/** Route tables built from scratch, for tests (the runtime changes its table in place). */
import { RouteTable, type RouteDefinition } from '../routing/route-table.ts';

export type RouteTableBuild<T> =
  | { readonly ok: true; readonly table: RouteTable<T> }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Builds the lookup structure for a set of APIs, or lists every conflict: two APIs
 * serving the same method on the same host and base path.
 */
export function buildRouteTable<T>(definitions: readonly RouteDefinition<T>[]): RouteTableBuild<T> {
  const table = new RouteTable<T>();
  const change = { removals: [], upserts: definitions };
  const problems = table.conflicts(change);
  if (problems.length > 0) return { ok: false, problems };
  table.apply(change);
  return { ok: true, table };
}
