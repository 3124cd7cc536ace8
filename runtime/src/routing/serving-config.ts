import type { Dispatcher } from 'undici';
import type { Api, Cluster } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { DtcState } from '../health/dtc-states.ts';
import type { ClusterState } from '../health/member-cell.ts';
import type { HealthPlan } from '../health/upstream-health.ts';
import { bindApiMetrics, failoverCounter, type ApiMetrics, type Increment, type RuntimeMetrics } from '../metrics.ts';
import type { ResourceState } from '../state/resource-state.ts';
import { groupTiers, type BalancerState, type Candidate, type Tiers } from '../upstreams/balancer.ts';
import type { DispatcherGeneration } from '../upstreams/dispatchers.ts';
import type { MemberLiveState } from '../upstreams/member-state.ts';
import { failoverZoneOrder } from './failover-zones.ts';
import { normalizeBasePath, segmentCount } from './request-target.ts';
import { buildRouteTable, type RouteDefinition, type RouteTable } from './route-table.ts';

export const defaultConnectTimeoutMs = 5_000;
export const defaultRequestTimeoutMs = 60_000;

/** A member of a cluster, with its URL taken apart once. */
export interface UpstreamMember extends Candidate {
  readonly cluster: string;
  readonly name: string;
  readonly url: string;
  readonly origin: string;
  /** The member URL's own path without trailing slash ('' for none), put before every request path. */
  readonly pathPrefix: string;
  /** `host[:port]` of the member, sent as the upstream Host header. */
  readonly host: string;
  readonly zone: string;
  readonly priority: number;
  readonly live: MemberLiveState;
}

/** A member as one API reaches it: through the pool for that API's connect timeout. */
export interface MemberTarget extends Candidate {
  readonly kind: 'member';
  readonly member: UpstreamMember;
  readonly dispatcher: Dispatcher;
  /** Set for a member of another zone, reached by failover: counts each attempt sent to it. */
  readonly failovers: Increment | undefined;
}

/** Another zone's runtime tier, reached at its DTC URL when that zone has no usable member of ours. */
export interface DtcTarget {
  readonly kind: 'dtc';
  readonly zone: string;
  readonly state: DtcState;
  /** The DTC URL's own path without trailing slash, put before the original request path. */
  readonly pathPrefix: string;
  /** `host[:port]` of the DTC URL: the Host sent only when the client sent none. */
  readonly host: string;
  readonly dispatcher: Dispatcher;
  readonly failovers: Increment;
}

export type RouteTarget = MemberTarget | DtcTarget;

/** One zone an API fails over to: the cluster's members there, else the zone's DTC URL. */
export interface FailoverZone {
  readonly zone: string;
  readonly tiers: Tiers<MemberTarget>;
  readonly dtc: DtcTarget | undefined;
}

/** Everything the proxy needs for one API, resolved at config time. */
export interface ApiRoute {
  readonly name: string;
  readonly basePath: string;
  readonly basePathSegments: number;
  readonly stripBasePath: boolean;
  readonly cluster: string;
  /** `pool/<name>` or `gateway/<name>`, named in 503 bodies. */
  readonly upstreamLabel: string;
  readonly requestTimeoutMs: number;
  /** 0: one timeout (requestTimeoutMs) for all attempts together. */
  readonly perTryTimeoutMs: number;
  /** Extra attempts after the first. */
  readonly retryAttempts: number;
  /**
   * The members requests go to while any is usable: those in the runtime's zone (or in
   * no zone), or all of them when none is, by priority.
   */
  readonly local: Tiers<MemberTarget>;
  /** The zones tried in order when no local member is usable; empty without failover. */
  readonly failover: readonly FailoverZone[];
  /** Every member of the cluster (all zones), for `healthy/total` in 503 bodies. */
  readonly members: readonly UpstreamMember[];
  /** The cluster's live state: retry budget. */
  readonly clusterState: ClusterState;
  readonly balancer: BalancerState;
  readonly metrics: ApiMetrics;
}

/** What one request is served with; replaced as a whole on every config change. */
export interface ServingConfig {
  readonly revision: bigint;
  readonly routes: RouteTable<ApiRoute>;
  /** By API name. */
  readonly apis: ReadonlyMap<string, ApiRoute>;
}

export interface ServingBuildContext {
  /** The runtime's zone: members there (or in no zone) are preferred. */
  readonly zone: string;
  readonly maxRequestTimeoutMs: number;
  readonly dispatchers: DispatcherGeneration;
  readonly health: HealthPlan;
  readonly metrics: RuntimeMetrics;
}

export type ServingBuild =
  | { readonly ok: true; readonly config: ServingConfig }
  | { readonly ok: false; readonly problems: readonly string[] };

function upstreamMembers(name: string, cluster: Cluster, ctx: ServingBuildContext): UpstreamMember[] {
  ctx.health.members.cluster(name);
  return cluster.members.map((member) => {
    const url = new URL(member.url);
    return {
      cluster: name,
      name: member.name,
      url: member.url,
      origin: url.origin,
      pathPrefix: url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname,
      host: url.host,
      zone: member.zone,
      priority: member.priority,
      live: ctx.health.members.member({
        cluster: name,
        name: member.name,
        url: member.url,
        controlPlaneHealth: member.controlPlaneHealth,
        healthCheck: member.healthCheck,
      }),
    };
  });
}

function byPriority(target: MemberTarget): number {
  return target.member.priority;
}

function dtcTarget(zone: string, dtcUrl: string, api: string, connectTimeoutMs: number, ctx: ServingBuildContext): DtcTarget {
  const url = new URL(dtcUrl);
  return {
    kind: 'dtc',
    zone,
    state: ctx.health.dtc.target(zone, dtcUrl),
    pathPrefix: url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname,
    host: url.host,
    dispatcher: ctx.dispatchers.get(url.origin, connectTimeoutMs),
    failovers: failoverCounter(ctx.metrics, api, zone, 'dtc'),
  };
}

interface Placement {
  readonly local: readonly MemberTarget[];
  readonly failover: readonly FailoverZone[];
}

/**
 * Splits an API's members into the local set and its failover zones. A cluster with no
 * member in the runtime's zone is all local: zones do not apply to it, and failover
 * can only add DTC URLs.
 */
function placeTargets(
  name: string,
  api: Api,
  members: readonly UpstreamMember[],
  state: ResourceState,
  ctx: ServingBuildContext,
  connectTimeoutMs: number,
): Placement {
  const isLocal = (zone: string): boolean => zone === '' || zone === ctx.zone;
  const zonesApply = members.some((m) => isLocal(m.zone));
  const target = (member: UpstreamMember, failovers: Increment | undefined): MemberTarget => ({
    kind: 'member',
    member,
    live: member.live,
    dispatcher: ctx.dispatchers.get(member.origin, connectTimeoutMs),
    failovers,
  });
  const local = members.filter((m) => !zonesApply || isLocal(m.zone)).map((m) => target(m, undefined));
  const failover = failoverZoneOrder(api.failover, state.resources.zone, ctx.zone).map((zone): FailoverZone => {
    const inZone = zonesApply ? members.filter((m) => m.zone === zone) : [];
    const counter = inZone.length === 0 ? undefined : failoverCounter(ctx.metrics, name, zone, 'members');
    const dtcUrl = state.resources.zone.get(zone)?.message.dtcUrl ?? '';
    return {
      zone,
      tiers: groupTiers(inZone.map((m) => target(m, counter)), byPriority),
      dtc: dtcUrl === '' ? undefined : dtcTarget(zone, dtcUrl, name, connectTimeoutMs, ctx),
    };
  });
  return { local, failover };
}

function apiRoute(name: string, api: Api, members: readonly UpstreamMember[], state: ResourceState, ctx: ServingBuildContext): ApiRoute {
  const basePath = normalizeBasePath(api.basePath);
  const connectTimeoutMs = api.timeouts?.connectMs || defaultConnectTimeoutMs;
  const { local, failover } = placeTargets(name, api, members, state, ctx, connectTimeoutMs);
  ctx.health.members.use(api.cluster);
  return {
    name,
    basePath,
    basePathSegments: segmentCount(basePath),
    stripBasePath: api.stripBasePath,
    cluster: api.cluster,
    upstreamLabel: api.upstreamLabel || api.cluster,
    requestTimeoutMs: api.timeouts?.requestMs || Math.min(defaultRequestTimeoutMs, ctx.maxRequestTimeoutMs),
    perTryTimeoutMs: api.retries?.perTryTimeoutMs ?? 0,
    retryAttempts: api.retries?.attempts ?? 0,
    local: groupTiers(local, byPriority),
    failover,
    members,
    clusterState: ctx.health.members.cluster(api.cluster),
    balancer: { policy: api.lbPolicy, cursor: 0 },
    metrics: bindApiMetrics(ctx.metrics, name),
  };
}

/**
 * Compiles validated resources into what the proxy serves. Fails only on route
 * conflicts (two APIs claiming the same method, host and base path), which need the
 * whole API set to see.
 */
export function buildServingConfig(state: ResourceState, ctx: ServingBuildContext): ServingBuild {
  const members = new Map<string, UpstreamMember[]>();
  for (const [name, entry] of state.resources.cluster) members.set(name, upstreamMembers(name, entry.message, ctx));
  const definitions: RouteDefinition<ApiRoute>[] = [];
  const apis = new Map<string, ApiRoute>();
  const problems: string[] = [];
  for (const [name, { message: api }] of state.resources.api) {
    const clusterMembers = members.get(api.cluster);
    if (clusterMembers === undefined) {
      problems.push(`api "${name}": cluster: "${api.cluster}" does not exist`);
      continue;
    }
    const route = apiRoute(name, api, clusterMembers, state, ctx);
    apis.set(name, route);
    definitions.push({ owner: name, hosts: api.hosts, basePath: api.basePath, methods: api.methods, target: route });
  }
  if (problems.length > 0) return { ok: false, problems };
  const built = buildRouteTable(definitions);
  if (!built.ok) return built;
  return { ok: true, config: { revision: state.revision, routes: built.table, apis } };
}
