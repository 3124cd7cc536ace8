import type { Api } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { Resources, ResourceUpdate } from './resources.ts';

/**
 * What an update touches: the clusters it changes or removes, and the APIs whose served
 * form it changes (those it changes itself, those failing over to a changed zone) or
 * removes. The APIs using a changed cluster are rebuilt too when its members change in a
 * way routes see (not for a change of health alone): `apisUsing` names them.
 */
export interface UpdateScope {
  readonly clusters: { readonly rebuild: ReadonlySet<string>; readonly remove: ReadonlySet<string> };
  readonly apis: { readonly rebuild: ReadonlySet<string>; readonly remove: ReadonlySet<string> };
  apisUsing(cluster: string): Iterable<string>;
}

const none: ReadonlySet<string> = new Set();

function addTo(index: Map<string, Set<string>>, key: string, name: string): void {
  let names = index.get(key);
  if (names === undefined) {
    names = new Set();
    index.set(key, names);
  }
  names.add(name);
}

function removeFrom(index: Map<string, Set<string>>, key: string, name: string): void {
  const names = index.get(key);
  if (names === undefined) return;
  names.delete(name);
  if (names.size === 0) index.delete(key);
}

/**
 * Which APIs refer to which clusters and zones, kept beside the resources held, so that
 * an update is checked and applied by looking at what it touches, not at every API.
 */
export class ResourceIndex {
  private readonly apisByCluster = new Map<string, Set<string>>();
  /** APIs listing the zone in `failover.zones`. */
  private readonly apisByFailoverZone = new Map<string, Set<string>>();
  /** APIs failing over to every eligible zone (failover enabled, no zone list). */
  private readonly apisFailingOverAnywhere = new Set<string>();
  /** APIs whose jwt policy lists no issuers: they trust their zones' issuers (any zone change may change them). */
  private readonly apisTrustingZones = new Set<string>();

  /** The index of whole resources (O(APIs): for tests and one-off checks). */
  static of(resources: Resources): ResourceIndex {
    const index = new ResourceIndex();
    for (const [name, entry] of resources.api) index.add(name, entry.message);
    return index;
  }

  add(name: string, api: Api): void {
    addTo(this.apisByCluster, api.cluster, name);
    const policies = api.policies === undefined ? [] : [api.policies, ...api.policies.overrides.map((o) => o.policies)];
    if (policies.some((p) => p?.jwt !== undefined && p.jwt.issuers.length === 0)) this.apisTrustingZones.add(name);
    if (api.failover?.enabled !== true) return;
    if (api.failover.zones.length === 0) this.apisFailingOverAnywhere.add(name);
    for (const zone of api.failover.zones) addTo(this.apisByFailoverZone, zone, name);
  }

  remove(name: string, api: Api): void {
    removeFrom(this.apisByCluster, api.cluster, name);
    this.apisFailingOverAnywhere.delete(name);
    this.apisTrustingZones.delete(name);
    for (const zone of api.failover?.zones ?? []) removeFrom(this.apisByFailoverZone, zone, name);
  }

  /** The APIs held that route to a cluster. */
  apisUsing(cluster: string): ReadonlySet<string> {
    return this.apisByCluster.get(cluster) ?? none;
  }

  /** The APIs held whose failover zones (their order or DTC URLs) a change of `zone` can change. */
  apisFailingOverTo(zone: string): Iterable<string> {
    return [...(this.apisByFailoverZone.get(zone) ?? none), ...this.apisFailingOverAnywhere];
  }

  /** What `updates` touch, seen from the resources held (before they are applied). */
  scope(updates: readonly ResourceUpdate[]): UpdateScope {
    const clusters = { rebuild: new Set<string>(), remove: new Set<string>() };
    const apis = { rebuild: new Set<string>(), remove: new Set<string>() };
    for (const update of updates) {
      const changed = [...update.upserts.keys()];
      switch (update.kind) {
        case 'cluster':
          for (const name of changed) clusters.rebuild.add(name);
          for (const name of update.removals) clusters.remove.add(name);
          break;
        case 'zone':
          for (const name of [...changed, ...update.removals]) for (const api of this.apisFailingOverTo(name)) apis.rebuild.add(api);
          if (changed.length > 0 || update.removals.length > 0) for (const api of this.apisTrustingZones) apis.rebuild.add(api);
          break;
        case 'api':
          for (const name of changed) apis.rebuild.add(name);
          for (const name of update.removals) apis.remove.add(name);
          break;
      }
    }
    for (const name of apis.remove) apis.rebuild.delete(name);
    return { clusters, apis, apisUsing: (cluster) => this.apisUsing(cluster) };
  }
}
