import type { Dispatcher } from 'undici';
import type { Api, Cluster, Policies } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { TrackedDtc } from '../health/dtc-tracker.ts';
import type { MemberPlan } from '../health/member-plan.ts';
import type { TrackedCluster } from '../health/tracked-member.ts';
import { failoverCounter, type ApiMetrics, type RuntimeMetrics } from '../metrics.ts';
import type { Increment } from '../pending-counts.ts';
import type { PolicyChain } from '../policies/policy-chain.ts';
import type { ResourceMap } from '../resources/resources.ts';
import { groupTiers } from '../upstreams/balancer.ts';
import { failoverZoneOrder } from './failover-zones.ts';
import { normalizeBasePath, segmentCount } from './request-target.ts';
import type { ApiRoute, DtcTarget, FailoverZone, MemberTarget, UpstreamMember } from './serving-config.ts';

/** A field the shared rules require: validation refused the API before it got here without one. */
function validated<T>(value: T | undefined, field: string, api: string): T {
  if (value === undefined) throw new Error(`api ${api}: ${field} is missing (the config was not validated)`);
  return value;
}

/** What building one API's route needs besides the API, its cluster's members and its metrics. */
export interface ApiRouteContext {
  /** The runtime's zone: members there (or in no zone) are preferred. */
  readonly zone: string;
  /** The zones the config will hold, for failover order and DTC URLs. */
  readonly zones: ResourceMap<'zone'>;
  /** The keep-alive pool for an origin (one more user of it). */
  pool(origin: string, connectTimeoutMs: number): Dispatcher;
  /** The health of a zone's DTC URL (one more user of it). */
  dtc(zone: string, url: string): TrackedDtc;
  readonly metrics: RuntimeMetrics;
  /** The API's policy chain (keeping what the chain of its previous version holds that still applies). */
  policies(api: Api, policies: Policies): PolicyChain;
}

function pathPrefix(url: URL): string {
  return url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
}

/** A cluster's members with their URLs taken apart, declared to the health plan (which keeps their live state). */
export function upstreamMembers(name: string, cluster: Cluster, health: MemberPlan): UpstreamMember[] {
  health.cluster(name);
  return cluster.members.map((member) => {
    const url = new URL(member.url);
    return {
      cluster: name,
      name: member.name,
      url: member.url,
      origin: url.origin,
      pathPrefix: pathPrefix(url),
      host: url.host,
      zone: member.zone,
      priority: member.priority,
      live: health.member({
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

function dtcTarget(zone: string, dtcUrl: string, hopKey: Uint8Array, api: string, connectTimeoutMs: number, ctx: ApiRouteContext): DtcTarget {
  const url = new URL(dtcUrl);
  return {
    kind: 'dtc',
    zone,
    state: ctx.dtc(zone, dtcUrl),
    pathPrefix: pathPrefix(url),
    host: url.host,
    dispatcher: ctx.pool(url.origin, connectTimeoutMs),
    failovers: failoverCounter(ctx.metrics, api, zone, 'dtc'),
    hopKey,
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
function placeTargets(name: string, api: Api, members: readonly UpstreamMember[], ctx: ApiRouteContext, connectTimeoutMs: number): Placement {
  const isLocal = (zone: string): boolean => zone === '' || zone === ctx.zone;
  const zonesApply = members.some((m) => isLocal(m.zone));
  const target = (member: UpstreamMember, failovers: Increment | undefined): MemberTarget => ({
    kind: 'member',
    member,
    live: member.live,
    dispatcher: ctx.pool(member.origin, connectTimeoutMs),
    failovers,
  });
  const local = members.filter((m) => !zonesApply || isLocal(m.zone)).map((m) => target(m, undefined));
  const failover = failoverZoneOrder(api.failover, ctx.zones, ctx.zone).map((zone): FailoverZone => {
    const inZone = zonesApply ? members.filter((m) => m.zone === zone) : [];
    const counter = inZone.length === 0 ? undefined : failoverCounter(ctx.metrics, name, zone, 'members');
    const message = ctx.zones.get(zone)?.message;
    const dtcUrl = message?.dtcUrl ?? '';
    // Without a hop key the receiving runtime could not tell a forwarded request from a
    // client's and might forward it again: such a zone's DTC URL is not used.
    const hopKey = message?.hopKey ?? new Uint8Array();
    return {
      zone,
      tiers: groupTiers(inZone.map((m) => target(m, counter)), byPriority),
      dtc: dtcUrl === '' || hopKey.length === 0 ? undefined : dtcTarget(zone, dtcUrl, hopKey, name, connectTimeoutMs, ctx),
    };
  });
  return { local, failover };
}

/** Everything the proxy needs for one API, resolved at config time. */
export function apiRoute(
  name: string,
  api: Api,
  members: readonly UpstreamMember[],
  cluster: TrackedCluster,
  metrics: ApiMetrics,
  ctx: ApiRouteContext,
): ApiRoute {
  const basePath = normalizeBasePath(api.basePath);
  const timeouts = validated(api.timeouts, 'timeouts', name);
  const retries = validated(api.retries, 'retries', name);
  const connectTimeoutMs = timeouts.connectMs;
  const { local, failover } = placeTargets(name, api, members, ctx, connectTimeoutMs);
  return {
    name,
    basePath,
    basePathSegments: segmentCount(basePath),
    stripBasePath: api.stripBasePath,
    cluster: api.cluster,
    upstreamLabel: api.upstreamLabel,
    connectTimeoutMs,
    requestTimeoutMs: timeouts.requestMs,
    perTryTimeoutMs: retries.perTryTimeoutMs,
    retryAttempts: retries.attempts,
    local: groupTiers(local, byPriority),
    failover,
    members,
    retryBudget: cluster.budget,
    balancer: { policy: api.lbPolicy, cursor: 0 },
    metrics,
    policies: api.policies === undefined ? undefined : ctx.policies(api, api.policies),
  };
}
