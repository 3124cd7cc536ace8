import { Counter, Gauge, Registry } from 'prom-client';
import { ApiHistogram } from './api-histogram.ts';
import { PendingCounts, type Increment } from './pending-counts.ts';
import { ApiDenials, createPolicyMetrics, forgetDenials, type PolicyMetrics } from './policies/policy-metrics.ts';

const codeClasses = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Why a request was sent again: the error code of the failed attempt, or its status. */
export type RetryReason = 'connect_failure' | 'reset' | 'timeout' | 'status_502' | 'status_503' | 'status_504';
const retryReasons: readonly RetryReason[] = ['connect_failure', 'reset', 'timeout', 'status_502', 'status_503', 'status_504'];

/**
 * Every metric the runtime exports, on a registry of its own (several runtimes can live
 * in one process, in tests). Labels stay low-cardinality: API names, never paths.
 */
export interface RuntimeMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'api' | 'code_class'>;
  readonly upstreamDuration: ApiHistogram;
  readonly retries: Counter<'api' | 'reason'>;
  readonly noHealthyUpstream: Counter<'api'>;
  readonly retryBudgetExhausted: Counter<'api'>;
  readonly failovers: Counter<'api' | 'zone' | 'via'>;
  readonly memberStateChanges: Counter<'cluster' | 'to'>;
  readonly clusterHealthyMembers: Gauge<'cluster'>;
  readonly clusterMembers: Gauge<'cluster'>;
  readonly outlierEjectionsSkipped: Counter<'cluster'>;
  readonly healthChecks: Counter<'cluster' | 'result'>;
  readonly dtcHealthy: Gauge<'zone'>;
  readonly configApplies: Counter<'type' | 'result'>;
  readonly appliedRevision: Gauge;
  readonly replicationLag: Gauge;
  readonly controllerConnected: Gauge;
  readonly servingFromCache: Gauge;
  readonly xdsReconnects: Counter;
  readonly clientTimeouts: Counter<'kind'>;
  readonly requestBodiesTooLarge: Counter;
  readonly upstreamConnectsDenied: Counter;
  readonly certificateExpiry: Gauge<'certificate'>;
  readonly hopMarkers: Counter<'result'>;
  /** Policy refusals and JWKS fetches. */
  readonly policies: PolicyMetrics;
  /** Counts of `requests` not yet added to their series: they are, whenever the registry is read. */
  readonly pendingRequests: PendingCounts;
}

export function createRuntimeMetrics(): RuntimeMetrics {
  const registry = new Registry();
  const registers = [registry];
  const pendingRequests = new PendingCounts();
  return {
    registry,
    pendingRequests,
    requests: new Counter({
      name: 'causeway_runtime_requests_total',
      help: 'Requests answered by the proxy, by API (empty when no route matched) and status class.',
      labelNames: ['api', 'code_class'],
      registers,
      collect: () => pendingRequests.flush(),
    }),
    upstreamDuration: new ApiHistogram({
      name: 'causeway_runtime_upstream_request_duration_seconds',
      help: 'Time from sending a request upstream until its response ended, per attempt.',
      labelName: 'api',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registry,
    }),
    retries: new Counter({
      name: 'causeway_runtime_retries_total',
      help: 'Requests sent again to another member, by API and reason.',
      labelNames: ['api', 'reason'],
      registers,
    }),
    noHealthyUpstream: new Counter({
      name: 'causeway_runtime_no_healthy_upstream_total',
      help: 'Requests answered 503 because the API had no usable member.',
      labelNames: ['api'],
      registers,
    }),
    retryBudgetExhausted: new Counter({
      name: 'causeway_runtime_retry_budget_exhausted_total',
      help: 'Retries not sent because the cluster retry budget was used up; the last answer was returned.',
      labelNames: ['api'],
      registers,
    }),
    failovers: new Counter({
      name: 'causeway_runtime_failovers_total',
      help: 'Attempts sent to another zone because no local member was usable, by API, zone and way (members or dtc).',
      labelNames: ['api', 'zone', 'via'],
      registers,
    }),
    memberStateChanges: new Counter({
      name: 'causeway_runtime_member_state_changes_total',
      help: 'Member state changes seen by this runtime, by cluster and new state (healthy, ejected, unhealthy).',
      labelNames: ['cluster', 'to'],
      registers,
    }),
    clusterHealthyMembers: new Gauge({
      name: 'causeway_runtime_cluster_healthy_members',
      help: 'Members of the cluster this runtime may send requests to (all zones).',
      labelNames: ['cluster'],
      registers,
    }),
    clusterMembers: new Gauge({
      name: 'causeway_runtime_cluster_members',
      help: 'Members of the cluster (all zones).',
      labelNames: ['cluster'],
      registers,
    }),
    outlierEjectionsSkipped: new Counter({
      name: 'causeway_runtime_outlier_ejections_skipped_total',
      help: 'Ejections outlier detection did not make because the cluster was at its maximum ejected share.',
      labelNames: ['cluster'],
      registers,
    }),
    healthChecks: new Counter({
      name: 'causeway_runtime_health_checks_total',
      help: 'Active health checks of cluster members, by cluster and result (pass or fail).',
      labelNames: ['cluster', 'result'],
      registers,
    }),
    dtcHealthy: new Gauge({
      name: 'causeway_runtime_dtc_healthy',
      help: '1 while the DTC URL of the zone passes its health checks (or was not checked yet), else 0.',
      labelNames: ['zone'],
      registers,
    }),
    configApplies: new Counter({
      name: 'causeway_runtime_config_applies_total',
      help: 'Config updates received, by resource type and result (ack or nack).',
      labelNames: ['type', 'result'],
      registers,
    }),
    appliedRevision: new Gauge({
      name: 'causeway_runtime_applied_revision',
      help: 'The highest config revision applied.',
      registers,
    }),
    replicationLag: new Gauge({
      name: 'causeway_runtime_replication_lag_revisions',
      help: 'The newest revision the controller knew to be committed in the database, minus the revision applied here.',
      registers,
    }),
    controllerConnected: new Gauge({
      name: 'causeway_runtime_controller_connected',
      help: '1 while a config stream to a controller is up.',
      registers,
    }),
    servingFromCache: new Gauge({
      name: 'causeway_runtime_serving_from_cache',
      help: '1 while the config in force was read from the cache file and no controller confirmed it.',
      registers,
    }),
    xdsReconnects: new Counter({
      name: 'causeway_runtime_xds_reconnects_total',
      help: 'Config streams opened after the first one.',
      registers,
    }),
    clientTimeouts: new Counter({
      name: 'causeway_runtime_client_timeouts_total',
      help: 'Proxy clients cut off by a timeout: kind body (no request body bytes) or send (the response not read).',
      labelNames: ['kind'],
      registers,
    }),
    requestBodiesTooLarge: new Counter({
      name: 'causeway_runtime_request_bodies_too_large_total',
      help: 'Requests refused with 413 because their body was over CAUSEWAY_MAX_REQUEST_BODY_BYTES (declared or streamed).',
      registers,
    }),
    upstreamConnectsDenied: new Counter({
      name: 'causeway_runtime_upstream_connects_denied_total',
      help: 'Upstream connects (traffic and health checks) refused because the address is in CAUSEWAY_UPSTREAM_DENY_CIDRS.',
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'causeway_runtime_certificate_expiry_seconds',
      help: 'When the client certificate this runtime streams config with expires, in seconds since the Unix epoch (certificate="client"; absent in plaintext).',
      labelNames: ['certificate'],
      registers,
    }),
    hopMarkers: new Counter({
      name: 'causeway_runtime_hop_markers_total',
      help: 'Requests that arrived with a cross-zone hop marker, by result: accepted (verified and recent) or rejected (treated as a client request).',
      labelNames: ['result'],
      registers,
    }),
    policies: createPolicyMetrics(registry),
  };
}

/** One API's metric series, bound once per API so the hot path skips label lookups. */
export interface ApiMetrics {
  /** By status class: index 0 is 1xx, 4 is 5xx. */
  readonly requests: readonly Increment[];
  readonly upstreamDuration: { observe(seconds: number): void };
  readonly retries: Readonly<Record<RetryReason, Increment>>;
  readonly noHealthyUpstream: Increment;
  readonly retryBudgetExhausted: Increment;
  readonly denials: ApiDenials;
}

/**
 * Binds each group of series on first use and keeps it: a config with thousands of APIs
 * costs no label binding for those that get no traffic (or no retries).
 */
class LazyApiMetrics implements ApiMetrics {
  private readonly metrics: RuntimeMetrics;
  private readonly api: string;
  private boundRequests: readonly Increment[] | undefined;
  private boundDuration: { observe(seconds: number): void } | undefined;
  private boundRetries: Readonly<Record<RetryReason, Increment>> | undefined;
  private boundNoHealthy: Increment | undefined;
  private boundBudget: Increment | undefined;
  private boundDenials: ApiDenials | undefined;

  constructor(metrics: RuntimeMetrics, api: string) {
    this.metrics = metrics;
    this.api = api;
  }

  get requests(): readonly Increment[] {
    const { requests, pendingRequests } = this.metrics;
    return (this.boundRequests ??= codeClasses.map((codeClass) => pendingRequests.of(requests.labels(this.api, codeClass))));
  }

  get upstreamDuration(): { observe(seconds: number): void } {
    return (this.boundDuration ??= this.metrics.upstreamDuration.labels(this.api));
  }

  get retries(): Readonly<Record<RetryReason, Increment>> {
    if (this.boundRetries === undefined) {
      const retries = {} as Record<RetryReason, Increment>;
      for (const reason of retryReasons) retries[reason] = this.metrics.retries.labels(this.api, reason);
      this.boundRetries = retries;
    }
    return this.boundRetries;
  }

  get noHealthyUpstream(): Increment {
    return (this.boundNoHealthy ??= this.metrics.noHealthyUpstream.labels(this.api));
  }

  get retryBudgetExhausted(): Increment {
    return (this.boundBudget ??= this.metrics.retryBudgetExhausted.labels(this.api));
  }

  get denials(): ApiDenials {
    return (this.boundDenials ??= new ApiDenials(this.metrics.policies.denials, this.api));
  }
}

export function bindApiMetrics(metrics: RuntimeMetrics, api: string): ApiMetrics {
  return new LazyApiMetrics(metrics, api);
}

/** Counts one answered request by its status class. */
export function countResponse(requests: readonly Increment[], status: number): void {
  const index = Math.min(Math.max(Math.floor(status / 100), 1), 5) - 1;
  requests[index]?.inc();
}

export type FailoverVia = 'members' | 'dtc';

/** The failover counter of one API towards one zone. */
export function failoverCounter(metrics: RuntimeMetrics, api: string, zone: string, via: FailoverVia): Increment {
  return metrics.failovers.labels(api, zone, via);
}

/** Drops an API's failover series towards zones it no longer fails over to. */
export function forgetFailoverMetrics(metrics: RuntimeMetrics, api: string, zones: Iterable<string>): void {
  for (const zone of zones) {
    metrics.failovers.remove(api, zone, 'members');
    metrics.failovers.remove(api, zone, 'dtc');
  }
}

/** Drops the series of an API that is gone, so /metrics does not grow with churn. */
export function forgetApiMetrics(metrics: RuntimeMetrics, api: string, failoverZones: Iterable<string>): void {
  metrics.pendingRequests.flush(); // else a count still pending would bring the series back
  for (const codeClass of codeClasses) metrics.requests.remove(api, codeClass);
  metrics.upstreamDuration.remove(api);
  for (const reason of retryReasons) metrics.retries.remove(api, reason);
  metrics.noHealthyUpstream.remove(api);
  metrics.retryBudgetExhausted.remove(api);
  forgetDenials(metrics.policies, api);
  forgetFailoverMetrics(metrics, api, failoverZones);
}

/** Drops the series of a cluster that is gone. */
export function forgetClusterMetrics(metrics: RuntimeMetrics, cluster: string): void {
  metrics.clusterHealthyMembers.remove(cluster);
  metrics.clusterMembers.remove(cluster);
  metrics.outlierEjectionsSkipped.remove(cluster);
  metrics.healthChecks.remove(cluster, 'pass');
  metrics.healthChecks.remove(cluster, 'fail');
  for (const to of ['healthy', 'ejected', 'unhealthy']) metrics.memberStateChanges.remove(cluster, to);
}
