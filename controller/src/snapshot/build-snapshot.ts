import { create, toBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { hasPolicy, issuerMessages, pack, policiesMessage, type ResourceKind } from '@causeway/shared';
import { ResourceSchema } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import {
  ApiSchema,
  ClusterSchema,
  LbPolicy,
  MemberHealth,
  ZoneSchema,
} from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { Model } from '../sync/model.ts';
import type { ApiRecord, EntityState, GatewayRecord, PoolRecord, ZoneRecord } from '../store/records.ts';
import { recordKey } from '../store/records.ts';
import { OrgConsumers } from './consumer-keys.ts';

/** One resource as sent to runtimes, encoded once per version. */
export interface SnapshotEntry {
  readonly name: string;
  readonly version: string;
  readonly resource: Any;
  /**
   * The `Resource` message (name, version, resource) as it goes on the wire: every
   * stream sends these bytes, none encodes the resource again.
   */
  readonly encoded: Uint8Array;
  /** An API's: which runtimes it goes to (see runtime-views.ts). */
  readonly target?: ApiTarget;
}

/** Which runtimes an API goes to: those serving its org whose labels include `matchLabels`. */
export interface ApiTarget {
  readonly org: string;
  readonly matchLabels: Readonly<Record<string, string>>;
  /** The cluster it uses: a runtime that receives the API receives the cluster too. */
  readonly cluster: string;
}

export type ResourceSet = ReadonlyMap<string, SnapshotEntry>;

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

const lbPolicies = {
  random: LbPolicy.RANDOM,
  'round-robin': LbPolicy.ROUND_ROBIN,
  'least-request': LbPolicy.LEAST_REQUEST,
} as const;

function gatewayClusterName(org: string, gateway: string): string {
  return `${org}/gateway/${gateway}`;
}

function poolClusterName(org: string, pool: string): string {
  return `${org}/pool/${pool}`;
}

function clusterOf(api: ApiRecord): { name: string; label: string } {
  const ref = clusterRefOf(api);
  return { name: clusterNameOf(ref), label: `${ref.kind}/${ref.name}` };
}

function member(gateway: GatewayRecord) {
  return {
    name: gateway.name,
    url: gateway.spec.url,
    zone: gateway.spec.zone,
    priority: 0,
    controlPlaneHealth: gateway.heartbeatExpired ? MemberHealth.UNHEALTHY : MemberHealth.HEALTHY,
    healthCheck: { ...gateway.spec.healthCheck },
  };
}

/** Reuses the previous encoding when the version did not change. */
function entry(previous: ResourceSet | undefined, name: string, version: string, encode: () => Any, target?: () => ApiTarget): SnapshotEntry {
  const old = previous?.get(name);
  if (old !== undefined && old.version === version) return old;
  const resource = encode();
  const encoded = toBinary(ResourceSchema, create(ResourceSchema, { name, version, resource }));
  return target === undefined ? { name, version, resource, encoded } : { name, version, resource, encoded, target: target() };
}

function apiEntry(api: ApiRecord, previous: ResourceSet | undefined, orgConsumers: OrgConsumers): SnapshotEntry {
  const name = recordKey(api.org, api.name);
  // An API that checks API keys carries its org's key digests: a key change is a change of it.
  const keys = orgConsumers.of(api);
  const version = keys === undefined ? String(api.revision) : `${api.revision}.${keys.version}`;
  return entry(previous, name, version, () => {
    const cluster = clusterOf(api);
    return pack(ApiSchema, create(ApiSchema, {
      name,
      org: api.org,
      hosts: [...api.spec.hosts],
      basePath: api.spec.basePath,
      methods: [...api.spec.methods],
      stripBasePath: api.spec.stripBasePath,
      cluster: cluster.name,
      upstreamLabel: cluster.label,
      lbPolicy: lbPolicies[api.spec.loadBalancing],
      timeouts: { connectMs: api.spec.timeouts.connectMs, requestMs: api.spec.timeouts.requestMs },
      retries: { attempts: api.spec.retries.attempts, perTryTimeoutMs: api.spec.retries.perTryTimeoutMs },
      failover: { enabled: api.spec.failover.enabled, zones: [...api.spec.failover.zones] },
      revision: BigInt(api.revision),
      ...(api.spec.policies !== undefined && { policies: policiesMessage(api.spec.policies) }),
      ...(keys !== undefined && { consumers: keys.consumers() }),
    }));
  }, () => ({ org: api.org, matchLabels: api.spec.runtimeSelector.matchLabels, cluster: clusterOf(api).name }));
}

function gatewayClusterEntry(gateway: GatewayRecord, previous: ResourceSet | undefined): SnapshotEntry {
  const name = gatewayClusterName(gateway.org, gateway.name);
  return entry(previous, name, String(gateway.revision), () =>
    pack(ClusterSchema, create(ClusterSchema, {
      name,
      members: [member(gateway)],
    })),
  );
}

function poolClusterEntry(pool: PoolRecord, members: readonly GatewayRecord[], previous: ResourceSet | undefined): SnapshotEntry {
  const name = poolClusterName(pool.org, pool.name);
  // A cluster changes when the pool or any member does; its version is the newest of them.
  const version = Math.max(pool.revision, ...members.map((m) => m.revision));
  return entry(previous, name, String(version), () =>
    pack(ClusterSchema, create(ClusterSchema, {
      name,
      members: members.map(member),
    })),
  );
}

function zoneEntry(zone: ZoneRecord, previous: ResourceSet | undefined, hopKey: Uint8Array): SnapshotEntry {
  return entry(previous, zone.name, String(zone.revision), () =>
    pack(ZoneSchema, create(ZoneSchema, {
      name: zone.name,
      dtcUrl: zone.spec.dtcUrl,
      failoverEligible: zone.spec.failoverEligible,
      failoverPriority: zone.spec.failoverPriority,
      hopKey,
      issuers: issuerMessages(zone.spec.issuers),
    })),
  );
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

/** The entry of one cluster from the model, or undefined when its gateway or pool is gone. */
function clusterEntry(model: Model, cluster: ClusterRef, previous: ResourceSet): SnapshotEntry | undefined {
  if (cluster.kind === 'gateway') {
    const gateway = model.gateways.get(recordKey(cluster.org, cluster.name));
    return gateway === undefined ? undefined : gatewayClusterEntry(gateway, previous);
  }
  const pool = model.pools.get(recordKey(cluster.org, cluster.name));
  if (pool === undefined) return undefined;
  const members = pool.spec.members.flatMap((m) => model.gateways.get(recordKey(cluster.org, m)) ?? []);
  return poolClusterEntry(pool, members, previous);
}

interface ClusterRef {
  readonly kind: 'gateway' | 'pool';
  readonly org: string;
  readonly name: string;
}

function clusterRefOf(api: ApiRecord): ClusterRef {
  const upstream = api.spec.upstream;
  return 'gateway' in upstream ? { kind: 'gateway', org: api.org, name: upstream.gateway } : { kind: 'pool', org: api.org, name: upstream.pool };
}

function clusterNameOf(ref: ClusterRef): string {
  return ref.kind === 'gateway' ? gatewayClusterName(ref.org, ref.name) : poolClusterName(ref.org, ref.name);
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
