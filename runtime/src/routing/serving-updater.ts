import type { Dispatcher } from 'undici';
import { checkPolicies, policiesSpecOf, type PolicySpec } from '@causeway/shared';
import type { Api, Policies } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { TrackedDtc } from '../health/dtc-tracker.ts';
import type { HealthPlan } from '../health/upstream-health.ts';
import { bindApiMetrics, forgetApiMetrics, forgetFailoverMetrics, type RuntimeMetrics } from '../metrics.ts';
import type { KeySets } from '../policies/issuer-keys.ts';
import { zoneIssuers } from './zone-issuers.ts';
import { PolicyChain } from '../policies/policy-chain.ts';
import type { PendingResources } from '../resources/pending-resources.ts';
import type { UpdateScope } from '../resources/resource-index.ts';
import type { ResourceMap } from '../resources/resources.ts';
import { dispatcherKey, type DispatcherPlan } from '../upstreams/dispatchers.ts';
import { apiRoute, upstreamMembers, type ApiRouteContext } from './api-route.ts';
import { RouteTable, type RouteChange, type RouteDefinition } from './route-table.ts';
import type { ApiRoute, ServingConfig, UpstreamMember } from './serving-config.ts';

/** What planning a serving update needs: the plans of pools and health it declares its users to. */
export interface ServingPlanContext {
  /** The runtime's zone: members there (or in no zone) are preferred. */
  readonly zone: string;
  readonly dispatchers: DispatcherPlan;
  readonly health: HealthPlan;
  readonly metrics: RuntimeMetrics;
  /** The issuers' key sets, kept across config changes. */
  readonly keySets: KeySets;
}

/** One API as served, with the pool users its route added (released when it is replaced). */
export interface ServedApi {
  readonly route: ApiRoute;
  readonly pools: readonly string[];
}

/** An API a plan rebuilds, with the routes that lead to it (kept by the route table once committed). */
export interface PlannedApi extends ServedApi {
  readonly definition: RouteDefinition<ApiRoute>;
}

/** What one update changes in the serving config; nothing changes until `commit()`. */
export interface ServingPlan {
  readonly revision: bigint;
  /** Rebuilt clusters' members; undefined: the cluster is removed. */
  readonly members: Map<string, readonly UpstreamMember[] | undefined>;
  /** Rebuilt APIs; undefined: the API is removed. */
  readonly apis: Map<string, PlannedApi | undefined>;
  /** How many APIs each cluster gains (or loses). */
  readonly apisPerCluster: Map<string, number>;
  /** Set once the APIs are built. */
  routes: RouteChange<ApiRoute>;
}

export type ServingPlanResult = { readonly ok: true; readonly plan: ServingPlan } | { readonly ok: false; readonly problems: readonly string[] };

const noRoutes: RouteChange<ApiRoute> = { removals: [], upserts: [] };

/** What building the routes of one plan needs; `pools` collects the pool keys of the API being built. */
class PlanContext implements ApiRouteContext {
  readonly build: ServingPlanContext;
  readonly zone: string;
  readonly zones: ResourceMap<'zone'>;
  readonly metrics: RuntimeMetrics;
  pools: string[] = [];
  /** The policy chain of the API being built as it is served now, if any. */
  previousPolicies: PolicyChain | undefined;

  constructor(next: PendingResources, build: ServingPlanContext) {
    this.build = build;
    this.zone = build.zone;
    this.zones = next.zones;
    this.metrics = build.metrics;
  }

  pool(origin: string, connectTimeoutMs: number): Dispatcher {
    const key = dispatcherKey(origin, connectTimeoutMs);
    this.pools.push(key);
    return this.build.dispatchers.get(origin, connectTimeoutMs, key);
  }

  dtc(zone: string, url: string): TrackedDtc {
    return this.build.health.dtc.target(zone, url);
  }

  policies(api: Api, policies: Policies): PolicyChain {
    // Validation checked these same rules: what comes back is the normalised spec.
    const spec = checkPolicies(policiesSpecOf(policies), 'policies').policies;
    // A jwt policy (the API's or an override's) that lists no issuers trusts the zones'.
    const trusted = (s: PolicySpec): PolicySpec => (s.jwt !== undefined && s.jwt.issuers.length === 0 ? { ...s, jwt: { ...s.jwt, issuers: zoneIssuers(api, this.zones, this.zone) } } : s);
    const overrides = spec.overrides?.map((o) => ({ ...o, policies: trusted(o.policies) }));
    const resolved = { ...trusted(spec), ...(overrides && { overrides }) };
    return new PolicyChain(resolved, { keySets: this.build.keySets, previous: this.previousPolicies, consumers: api.consumers, basePath: api.basePath });
  }
}

/** Members that routes see the same way: name, URL, zone and priority, in order (their live states are kept by name and URL). */
function sameMembers(a: readonly UpstreamMember[], b: readonly UpstreamMember[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((m, i) => {
    const other = b[i];
    return other !== undefined && m.name === other.name && m.url === other.url && m.zone === other.zone && m.priority === other.priority;
  });
}

function routeChange(plan: ServingPlan): RouteChange<ApiRoute> {
  const removals: string[] = [];
  const upserts: RouteDefinition<ApiRoute>[] = [];
  for (const [name, served] of plan.apis) {
    if (served === undefined) removals.push(name);
    else upserts.push(served.definition);
  }
  return { removals, upserts };
}

function failoverZones(route: ApiRoute): string[] {
  return route.failover.map((f) => f.zone);
}

/**
 * Keeps the serving config (route table, per-API routes, cluster members) and changes
 * it by what each update touches: unchanged APIs keep their route objects and route
 * registrations, and every API keeps its metric series. `plan()` builds what changes and
 * checks route conflicts without changing anything; `commit()` swaps it in,
 * synchronously, so a request sees the config before or after an update, never in between.
 */
export class ServingUpdater {
  private readonly routes = new RouteTable<ApiRoute>();
  private readonly served = new Map<string, ServedApi>();
  private readonly routesByName = new Map<string, ApiRoute>();
  private readonly members = new Map<string, readonly UpstreamMember[]>();
  /** APIs routing to each cluster: a cluster is in use (checked, reported) while it has any. */
  private readonly apisPerCluster = new Map<string, number>();
  private current: ServingConfig = { revision: 0n, routes: this.routes, apis: this.routesByName };

  /** What requests are served with: its routes and APIs change in place on commit. */
  get config(): ServingConfig {
    return this.current;
  }

  /**
   * Builds what `scope` changes from the pending resources, declaring members, pool and DTC
   * users to the plans in `ctx`. Fails on route conflicts (and on an API whose cluster
   * is missing, which validation already rules out).
   */
  plan(next: PendingResources, scope: UpdateScope, revision: bigint, ctx: ServingPlanContext): ServingPlanResult {
    const plan: ServingPlan = { revision, members: new Map(), apis: new Map(), apisPerCluster: new Map(), routes: noRoutes };
    for (const name of scope.clusters.remove) {
      ctx.health.members.remove(name);
      plan.members.set(name, undefined);
    }
    const rebuild = new Set(scope.apis.rebuild);
    for (const name of scope.clusters.rebuild) {
      const cluster = next.get('cluster', name);
      if (cluster === undefined) continue;
      const members = upstreamMembers(name, cluster, ctx.health.members);
      const previous = this.members.get(name);
      // Same members (a change of health or checks only): routes keep theirs, which share the live states.
      if (previous !== undefined && sameMembers(previous, members)) continue;
      plan.members.set(name, members);
      for (const api of scope.apisUsing(name)) if (!scope.apis.remove.has(api)) rebuild.add(api);
    }
    const problems = this.planApis(plan, next, scope.apis.remove, rebuild, ctx);
    if (problems.length > 0) return { ok: false, problems };
    plan.routes = routeChange(plan);
    const conflicts = this.routes.conflicts(plan.routes);
    if (conflicts.length > 0) return { ok: false, problems: conflicts };
    this.planUsage(plan, ctx);
    return { ok: true, plan };
  }

  private planApis(plan: ServingPlan, next: PendingResources, remove: Iterable<string>, rebuild: Iterable<string>, ctx: ServingPlanContext): string[] {
    const problems: string[] = [];
    const routeContext = new PlanContext(next, ctx);
    for (const name of remove) {
      const previous = this.served.get(name);
      if (previous !== undefined) this.release(previous, ctx);
      plan.apis.set(name, undefined);
    }
    for (const name of rebuild) {
      const api = next.get('api', name);
      if (api === undefined) continue;
      const previous = this.served.get(name);
      if (previous !== undefined) this.release(previous, ctx);
      const served = this.build(name, api, plan, routeContext);
      if (served === undefined) problems.push(`api "${name}": cluster: "${api.cluster}" does not exist`);
      else plan.apis.set(name, served);
    }
    return problems;
  }

  private build(name: string, api: Api, plan: ServingPlan, ctx: PlanContext): PlannedApi | undefined {
    const members = plan.members.has(api.cluster) ? plan.members.get(api.cluster) : this.members.get(api.cluster);
    const cluster = ctx.build.health.members.trackedCluster(api.cluster);
    if (members === undefined || cluster === undefined) return undefined;
    // Bound once per API (prom-client label lookups), kept while the API exists.
    const metrics = this.served.get(name)?.route.metrics ?? bindApiMetrics(ctx.metrics, name);
    const pools: string[] = [];
    ctx.pools = pools;
    ctx.previousPolicies = this.served.get(name)?.route.policies;
    const route = apiRoute(name, api, members, cluster, metrics, ctx);
    const definition = { owner: name, hosts: api.hosts, basePath: api.basePath, methods: api.methods, target: route };
    // A copy of exact length: an array grown by push keeps room for more, in every API.
    return { route, definition, pools: pools.slice() };
  }

  /** The pools and DTC targets a route being replaced no longer uses. */
  private release(served: ServedApi, ctx: ServingPlanContext): void {
    for (const key of served.pools) ctx.dispatchers.release(key);
    for (const zone of served.route.failover) if (zone.dtc !== undefined) ctx.health.dtc.release(zone.dtc.state);
  }

  /** Declares the clusters that gain their first API or lose their last one. */
  private planUsage(plan: ServingPlan, ctx: ServingPlanContext): void {
    this.countClusters(plan);
    for (const [cluster, change] of plan.apisPerCluster) {
      if (change === 0) continue;
      const before = this.apisPerCluster.get(cluster) ?? 0;
      if (before === 0 || before + change === 0) ctx.health.members.use(cluster, before + change > 0);
    }
  }

  /** How many APIs each cluster gains (or loses) with a plan. */
  private countClusters(plan: ServingPlan): void {
    const delta = plan.apisPerCluster;
    for (const [name, served] of plan.apis) {
      const before = this.served.get(name)?.route.cluster;
      const after = served?.route.cluster;
      if (before === after) continue;
      if (before !== undefined) delta.set(before, (delta.get(before) ?? 0) - 1);
      if (after !== undefined) delta.set(after, (delta.get(after) ?? 0) + 1);
    }
  }

  /** Swaps a plan in; the caller commits the health and pool plans in the same synchronous step. */
  commit(plan: ServingPlan, ctx: Pick<ServingPlanContext, 'metrics'>): void {
    for (const [name, members] of plan.members) {
      if (members === undefined) this.members.delete(name);
      else this.members.set(name, members);
    }
    for (const [cluster, change] of plan.apisPerCluster) {
      const count = (this.apisPerCluster.get(cluster) ?? 0) + change;
      if (count > 0) this.apisPerCluster.set(cluster, count);
      else this.apisPerCluster.delete(cluster);
    }
    for (const [name, served] of plan.apis) this.replace(name, served, ctx);
    this.routes.apply(plan.routes);
    this.current = { revision: plan.revision, routes: this.routes, apis: this.routesByName };
  }

  private replace(name: string, planned: PlannedApi | undefined, ctx: Pick<ServingPlanContext, 'metrics'>): void {
    const previous = this.served.get(name);
    if (planned === undefined) {
      this.served.delete(name);
      this.routesByName.delete(name);
      if (previous === undefined) return;
      forgetApiMetrics(ctx.metrics, name, failoverZones(previous.route));
      return;
    }
    const served: ServedApi = { route: planned.route, pools: planned.pools };
    this.served.set(name, served);
    this.routesByName.set(name, served.route);
    if (previous === undefined) return;
    const zones = new Set(failoverZones(served.route));
    forgetFailoverMetrics(ctx.metrics, name, failoverZones(previous.route).filter((zone) => !zones.has(zone)));
  }
}
