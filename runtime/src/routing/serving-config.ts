import type { Dispatcher } from 'undici';
import type { Api, Cluster } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { bindApiMetrics, type ApiMetrics, type RuntimeMetrics } from '../metrics.ts';
import type { ResourceState } from '../state/resource-state.ts';
import { groupTiers, type BalancerState, type Candidate, type Tiers } from '../upstreams/balancer.ts';
import type { DispatcherGeneration } from '../upstreams/dispatchers.ts';
import { memberKey, type MemberLiveState, type MemberStatePlan } from '../upstreams/member-state.ts';
import { normalizeBasePath, segmentCount } from './request-target.ts';
import { buildRouteTable, type RouteDefinition, type RouteTable } from './route-table.ts';

export const defaultConnectTimeoutMs = 5_000;
export const defaultRequestTimeoutMs = 60_000;

/** A member of a cluster, with its URL taken apart once. */
export interface UpstreamMember {
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
export interface RouteTarget extends Candidate {
  readonly member: UpstreamMember;
  readonly dispatcher: Dispatcher;
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
  readonly tiers: Tiers<RouteTarget>;
  readonly memberCount: number;
  readonly balancer: BalancerState;
  readonly metrics: ApiMetrics;
}

/** What one request is served with; replaced as a whole on every config change. */
export interface ServingConfig {
  readonly revision: bigint;
  readonly routes: RouteTable<ApiRoute>;
}

export interface ServingBuildContext {
  /** The runtime's zone: members there (or in no zone) are preferred. */
  readonly zone: string;
  readonly maxRequestTimeoutMs: number;
  readonly dispatchers: DispatcherGeneration;
  readonly members: MemberStatePlan;
  readonly metrics: RuntimeMetrics;
}

export type ServingBuild =
  | { readonly ok: true; readonly config: ServingConfig }
  | { readonly ok: false; readonly problems: readonly string[] };

function upstreamMembers(name: string, cluster: Cluster, ctx: ServingBuildContext): UpstreamMember[] {
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
      live: ctx.members.member(memberKey(name, member.name, member.url), member.controlPlaneHealth),
    };
  });
}

function apiRoute(name: string, api: Api, members: readonly UpstreamMember[], ctx: ServingBuildContext): ApiRoute {
  const basePath = normalizeBasePath(api.basePath);
  const connectTimeoutMs = api.timeouts?.connectMs || defaultConnectTimeoutMs;
  const targets = members.map((member) => ({
    member,
    live: member.live,
    dispatcher: ctx.dispatchers.get(member.origin, connectTimeoutMs),
  }));
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
    tiers: groupTiers(targets, ({ member }) => ({
      local: member.zone === '' || member.zone === ctx.zone,
      priority: member.priority,
    })),
    memberCount: members.length,
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
  const problems: string[] = [];
  for (const [name, { message: api }] of state.resources.api) {
    const clusterMembers = members.get(api.cluster);
    if (clusterMembers === undefined) {
      problems.push(`api "${name}": cluster: "${api.cluster}" does not exist`);
      continue;
    }
    definitions.push({
      owner: name,
      hosts: api.hosts,
      basePath: api.basePath,
      methods: api.methods,
      target: apiRoute(name, api, clusterMembers, ctx),
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  const built = buildRouteTable(definitions);
  if (!built.ok) return built;
  return { ok: true, config: { revision: state.revision, routes: built.table } };
}
