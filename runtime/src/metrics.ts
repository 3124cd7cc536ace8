import { Counter, Gauge, Histogram, Registry } from 'prom-client';

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
  readonly upstreamDuration: Histogram<'api'>;
  readonly retries: Counter<'api' | 'reason'>;
  readonly noHealthyUpstream: Counter<'api'>;
  readonly configApplies: Counter<'type' | 'result'>;
  readonly appliedRevision: Gauge;
  readonly controllerConnected: Gauge;
  readonly servingFromCache: Gauge;
  readonly xdsReconnects: Counter;
}

export function createRuntimeMetrics(): RuntimeMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'causeway_runtime_requests_total',
      help: 'Requests answered by the proxy, by API (empty when no route matched) and status class.',
      labelNames: ['api', 'code_class'],
      registers,
    }),
    upstreamDuration: new Histogram({
      name: 'causeway_runtime_upstream_request_duration_seconds',
      help: 'Time from sending a request upstream until its response ended, per attempt.',
      labelNames: ['api'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
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
  };
}

interface Increment {
  inc(): void;
}

/** One API's metric series, bound once per config build so the hot path skips label lookups. */
export interface ApiMetrics {
  /** By status class: index 0 is 1xx, 4 is 5xx. */
  readonly requests: readonly Increment[];
  readonly upstreamDuration: { observe(seconds: number): void };
  readonly retries: Readonly<Record<RetryReason, Increment>>;
  readonly noHealthyUpstream: Increment;
}

export function bindApiMetrics(metrics: RuntimeMetrics, api: string): ApiMetrics {
  const retries = {} as Record<RetryReason, Increment>;
  for (const reason of retryReasons) retries[reason] = metrics.retries.labels(api, reason);
  return {
    requests: codeClasses.map((codeClass) => metrics.requests.labels(api, codeClass)),
    upstreamDuration: metrics.upstreamDuration.labels(api),
    retries,
    noHealthyUpstream: metrics.noHealthyUpstream.labels(api),
  };
}

/** Counts one answered request by its status class. */
export function countResponse(requests: readonly Increment[], status: number): void {
  const index = Math.min(Math.max(Math.floor(status / 100), 1), 5) - 1;
  requests[index]?.inc();
}

/** Drops the series of an API that is gone, so /metrics does not grow with churn. */
export function forgetApiMetrics(metrics: RuntimeMetrics, api: string): void {
  for (const codeClass of codeClasses) metrics.requests.remove(api, codeClass);
  metrics.upstreamDuration.remove(api);
  for (const reason of retryReasons) metrics.retries.remove(api, reason);
  metrics.noHealthyUpstream.remove(api);
}
