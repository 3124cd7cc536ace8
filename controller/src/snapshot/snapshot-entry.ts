import { create, toBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { issuerMessages, pack, policiesMessage } from '@causeway/shared';
import { ResourceSchema } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import {
  ApiSchema,
  ClusterSchema,
  LbPolicy,
  MemberHealth,
  ZoneSchema,
} from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { Model } from '../sync/model.ts';
import type { ApiRecord, GatewayRecord, PoolRecord, ZoneRecord } from '../store/records.ts';
import { recordKey } from '../store/records.ts';
import type { OrgConsumers } from './consumer-keys.ts';

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

export function clusterOf(api: ApiRecord): { name: string; label: string } {
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

export function apiEntry(api: ApiRecord, previous: ResourceSet | undefined, orgConsumers: OrgConsumers): SnapshotEntry {
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

export function zoneEntry(zone: ZoneRecord, previous: ResourceSet | undefined, hopKey: Uint8Array): SnapshotEntry {
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

/** The entry of one cluster from the model, or undefined when its gateway or pool is gone. */
export function clusterEntry(model: Model, cluster: ClusterRef, previous: ResourceSet): SnapshotEntry | undefined {
  if (cluster.kind === 'gateway') {
    const gateway = model.gateways.get(recordKey(cluster.org, cluster.name));
    return gateway === undefined ? undefined : gatewayClusterEntry(gateway, previous);
  }
  const pool = model.pools.get(recordKey(cluster.org, cluster.name));
  if (pool === undefined) return undefined;
  const members = pool.spec.members.flatMap((m) => model.gateways.get(recordKey(cluster.org, m)) ?? []);
  return poolClusterEntry(pool, members, previous);
}

export interface ClusterRef {
  readonly kind: 'gateway' | 'pool';
  readonly org: string;
  readonly name: string;
}

export function clusterRefOf(api: ApiRecord): ClusterRef {
  const upstream = api.spec.upstream;
  return 'gateway' in upstream ? { kind: 'gateway', org: api.org, name: upstream.gateway } : { kind: 'pool', org: api.org, name: upstream.pool };
}

export function clusterNameOf(ref: ClusterRef): string {
  return ref.kind === 'gateway' ? gatewayClusterName(ref.org, ref.name) : poolClusterName(ref.org, ref.name);
}
