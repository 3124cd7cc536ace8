import type { Dispatcher } from 'undici';
import type { DtcState } from '../health/dtc-states.ts';
import type { ClusterState } from '../health/member-cell.ts';
import type { HealthPlan } from '../health/upstream-health.ts';
import type { ApiMetrics, Increment, RuntimeMetrics } from '../metrics.ts';
import { PendingState } from '../state/pending-state.ts';
import { ResourceIndex } from '../state/resource-index.ts';
import { emptyResourceState, type ResourceState, type ResourceUpdate } from '../state/resource-state.ts';
import type { BalancerState, Candidate, Tiers } from '../upstreams/balancer.ts';
import type { DispatcherGeneration } from '../upstreams/dispatchers.ts';
import type { MemberLiveState } from '../upstreams/member-state.ts';
import type { RouteTable } from './route-table.ts';
import { ServingState } from './serving-state.ts';

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

/**
 * What one request is served with. A new one on every config change, whose routes and
 * APIs are changed in place, synchronously: read them within one tick (a request keeps
 * the ApiRoute it resolved; those are replaced, never changed).
 */
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

/**
 * Compiles validated resources into what the proxy serves, from scratch (the runtime
 * changes its ServingState by what each update touches instead). Fails only on route
 * conflicts (two APIs claiming the same method, host and base path).
 */
export function buildServingConfig(state: ResourceState, ctx: ServingBuildContext): ServingBuild {
  const { revision, resources } = state;
  const updates: ResourceUpdate[] = [
    { kind: 'cluster', revision, upserts: resources.cluster, removals: [] },
    { kind: 'zone', revision, upserts: resources.zone, removals: [] },
    { kind: 'api', revision, upserts: resources.api, removals: [] },
  ];
  const serving = new ServingState();
  const planned = serving.plan(new PendingState(emptyResourceState, updates), new ResourceIndex().scope(updates), revision, ctx);
  if (!planned.ok) return planned;
  serving.commit(planned.plan, ctx);
  return { ok: true, config: serving.config };
}
