import { hasPolicy, type ResourceKind } from '@causeway/shared';
import type { Model } from '../sync/model.ts';
import type { EntityState } from '../store/records.ts';
import { recordKey } from '../store/records.ts';
import { OrgConsumers } from './consumer-keys.ts';
import {
  apiEntry,
  clusterEntry,
  clusterNameOf,
  clusterOf,
  clusterRefOf,
  zoneEntry,
  type ClusterRef,
  type ResourceSet,
  type SnapshotEntry,
} from './snapshot-entry.ts';

export interface Snapshot {
  readonly revision: number;
  readonly resources: Readonly<Record<ResourceKind, ResourceSet>>;
  /**
   * What differs from the snapshot this one was built on: the names added, changed or
   * removed per type. A stream that held exactly `base.revision` needs to look at these
   * names only, not at every resource.
   */
  readonly base?: { readonly revision: number; readonly changed: Readonly<Record<ResourceKind, ReadonlySet<string>>> };
  /** How many APIs use each cluster (a cluster is in the snapshot while some API uses it). */
  readonly clusterUsers: ReadonlyMap<string, number>;
}

export const emptySnapshot: Snapshot = {
  revision: 0,
  resources: { cluster: new Map(), zone: new Map(), api: new Map() },
  clusterUsers: new Map(),
};

function changedNames(previous: ResourceSet, next: ResourceSet): Set<string> {
  const changed = new Set<string>();
  for (const [name, entry] of next) if (previous.get(name) !== entry) changed.add(name);
  for (const name of previous.keys()) if (!next.has(name)) changed.add(name);
  return changed;
}

/**
 * The resources every runtime should hold, from the model alone (pure). Only clusters
 * that an API uses are included. Entries whose version did not change are taken from
 * `previous` so that a change re-encodes only what it touched.
 */
export function buildSnapshot(model: Model, previous: Snapshot = emptySnapshot): Snapshot {
  const apis = new Map<string, SnapshotEntry>();
  const clusters = new Map<string, SnapshotEntry>();
  const zones = new Map<string, SnapshotEntry>();
  const clusterUsers = new Map<string, number>();
  const orgConsumers = new OrgConsumers(model);
  for (const api of model.apis.values()) {
    const a = apiEntry(api, previous.resources.api, orgConsumers);
    apis.set(a.name, a);
    const ref = clusterRefOf(api);
    const clusterName = clusterNameOf(ref);
    clusterUsers.set(clusterName, (clusterUsers.get(clusterName) ?? 0) + 1);
    if (clusters.has(clusterName)) continue;
    const cluster = clusterEntry(model, ref, previous.resources.cluster);
    if (cluster !== undefined) clusters.set(clusterName, cluster);
  }
  for (const zone of model.zones.values()) {
    const z = zoneEntry(zone, previous.resources.zone, model.hopKey);
    zones.set(z.name, z);
  }
  const resources = { cluster: clusters, zone: zones, api: apis };
  const changed = {
    cluster: changedNames(previous.resources.cluster, clusters),
    zone: changedNames(previous.resources.zone, zones),
    api: changedNames(previous.resources.api, apis),
  };
  return { revision: model.revision, resources, base: { revision: previous.revision, changed }, clusterUsers };
}

/**
 * The same snapshot as `buildSnapshot(model, previous)`, computed from what changed:
 * `previous` was built from `previousModel`, and `changes` are the entities that differ
 * between it and `model`. Costs the size of the change (plus copying the maps), not of
 * the whole config.
 */
export function updateSnapshot(previousModel: Model, model: Model, previous: Snapshot, changes: readonly EntityState[]): Snapshot {
  const apis = new Map(previous.resources.api);
  const clusters = new Map(previous.resources.cluster);
  const clusterUsers = new Map(previous.clusterUsers);
  const changedApis = new Set<string>();
  const touched = new Map<string, ClusterRef>();
  const touch = (ref: ClusterRef): void => void touched.set(clusterNameOf(ref), ref);
  const use = (ref: ClusterRef, delta: number): void => {
    const name = clusterNameOf(ref);
    const users = (clusterUsers.get(name) ?? 0) + delta;
    if (users > 0) clusterUsers.set(name, users);
    else clusterUsers.delete(name);
    touch(ref);
  };
  let zonesChanged = false;
  const orgConsumers = new OrgConsumers(model);
  const consumerOrgs = new Set<string>();
  for (const change of changes) {
    const key = recordKey(change.org, change.name);
    switch (change.kind) {
      case 'Api': {
        if (changedApis.has(key)) break;
        changedApis.add(key);
        const before = previousModel.apis.get(key);
        const after = model.apis.get(key);
        if (before !== undefined) use(clusterRefOf(before), -1);
        if (after !== undefined) use(clusterRefOf(after), +1);
        if (after === undefined) apis.delete(key);
        else apis.set(key, apiEntry(after, previous.resources.api, orgConsumers));
        break;
      }
      case 'Consumer':
        consumerOrgs.add(change.org);
        break;
      case 'Gateway':
        touch({ kind: 'gateway', org: change.org, name: change.name });
        // The pools listing it carry it as a member (a pool that gained or lost it is a change of its own).
        for (const pool of model.pools.values()) {
          if (pool.org === change.org && pool.spec.members.includes(change.name)) touch({ kind: 'pool', org: pool.org, name: pool.name });
        }
        break;
      case 'GatewayPool':
        touch({ kind: 'pool', org: change.org, name: change.name });
        break;
      case 'Zone':
        zonesChanged = true;
        break;
    }
  }
  if (consumerOrgs.size > 0) {
    for (const api of model.apis.values()) {
      if (!consumerOrgs.has(api.org) || !hasPolicy(api.spec.policies, 'apiKey')) continue;
      const key = recordKey(api.org, api.name);
      changedApis.add(key);
      apis.set(key, apiEntry(api, previous.resources.api, orgConsumers));
    }
  }
  for (const [name, ref] of touched) {
    const entry = (clusterUsers.get(name) ?? 0) > 0 ? clusterEntry(model, ref, previous.resources.cluster) : undefined;
    if (entry === undefined) clusters.delete(name);
    else clusters.set(name, entry);
  }
  let zones = previous.resources.zone;
  if (zonesChanged) {
    const next = new Map<string, SnapshotEntry>();
    for (const zone of model.zones.values()) next.set(zone.name, zoneEntry(zone, previous.resources.zone, model.hopKey));
    zones = next;
  }
  const differs = (before: ResourceSet, after: ResourceSet, names: Iterable<string>): Set<string> =>
    new Set([...names].filter((name) => before.get(name) !== after.get(name)));
  const changed = {
    cluster: differs(previous.resources.cluster, clusters, touched.keys()),
    zone: zonesChanged ? changedNames(previous.resources.zone, zones) : new Set<string>(),
    api: differs(previous.resources.api, apis, changedApis),
  };
  return { revision: model.revision, resources: { cluster: clusters, zone: zones, api: apis }, base: { revision: previous.revision, changed }, clusterUsers };
}

/**
 * Problems that must stop a snapshot from being pushed: an API whose cluster is missing.
 * Every API counts in `clusterUsers`, so a look at the used clusters tells whether there
 * is any; only then are the APIs gone through to name them.
 */
export function checkSnapshot(snapshot: Snapshot, model: Model): string[] {
  if ([...snapshot.clusterUsers.keys()].every((name) => snapshot.resources.cluster.has(name))) return [];
  const problems: string[] = [];
  for (const api of model.apis.values()) {
    const cluster = clusterOf(api).name;
    if (!snapshot.resources.cluster.has(cluster)) {
      problems.push(`API "${recordKey(api.org, api.name)}" uses cluster "${cluster}", which is not in the snapshot`);
    }
  }
  return problems;
}
