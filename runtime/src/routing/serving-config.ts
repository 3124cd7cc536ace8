import type { Dispatcher } from 'undici';
import type { TrackedDtc } from '../health/dtc-tracker.ts';
import type { ApiMetrics } from '../metrics.ts';
import type { Increment } from '../pending-counts.ts';
import type { BalancerState, Candidate, Tiers } from '../upstreams/balancer.ts';
import type { PolicyChain } from '../policies/policy-chain.ts';
import type { LiveMember } from '../upstreams/member-state.ts';
import type { RetryBudget } from '../upstreams/retry-budget.ts';
import type { RouteTable } from './route-table.ts';

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
  readonly live: LiveMember;
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
  readonly state: TrackedDtc;
  /** The DTC URL's own path without trailing slash, put before the original request path. */
  readonly pathPrefix: string;
  /** `host[:port]` of the DTC URL: the Host sent only when the client sent none. */
  readonly host: string;
  readonly dispatcher: Dispatcher;
  readonly failovers: Increment;
  /** The zone's hop key: the request carries a hop marker signed with it (see proxy/hop-marker.ts). */
  readonly hopKey: Uint8Array;
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
  /** The connect timeout of its pools (a pool setting: pools are shared by origin and this). */
  readonly connectTimeoutMs: number;
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
  /** The cluster's retry budget: shared by the APIs using the cluster, kept across config updates. */
  readonly retryBudget: RetryBudget;
  readonly balancer: BalancerState;
  readonly metrics: ApiMetrics;
  /** What a request must pass before it goes upstream; undefined: nothing (no cost). */
  readonly policies: PolicyChain | undefined;
}

/**
 * What the proxy reads for a request (the serving config). A new one on every config
 * change, whose routes and APIs are changed in place by the ServingUpdater,
 * synchronously: read them within one tick (a request keeps the ApiRoute it resolved;
 * those are replaced, never changed).
 */
export interface ServingConfig {
  readonly revision: bigint;
  readonly routes: RouteTable<ApiRoute>;
  /** By API name. */
  readonly apis: ReadonlyMap<string, ApiRoute>;
}
