import type { Logger } from '@causeway/shared';
import type { RuntimeMetrics } from '../metrics.ts';
import { connectRefusedReason } from '../upstreams/member-state.ts';
import { checkPasses, failedCounter, recordCheck, uncheckedCounter, type CheckCounter, type CheckThresholds } from './check-verdict.ts';
import type { CheckJob } from './health-checker.ts';

/** Reserved on every runtime's proxy listener: what DTC health checks GET. */
export const dtcHealthPath = '/.well-known/causeway/health';

/** Fixed DTC check settings: a zone's runtime tier is probed often, and dropped after two misses. */
export const dtcCheckIntervalMs = 2_000;
export const dtcCheckTimeoutMs = 1_000;
export const dtcCheckThresholds: CheckThresholds = Object.freeze({ healthy: 1, unhealthy: 2 });

/** The health of one zone's DTC URL, as this runtime sees it. Only DtcStates writes it. */
export class DtcState {
  readonly zone: string;
  /** The zone's `dtc_url` as configured. */
  readonly url: string;
  readonly checkUrl: string;
  counter: CheckCounter = uncheckedCounter;
  /** Why it is failing, once it is; `ok` otherwise. */
  reason = 'ok';

  constructor(zone: string, url: string) {
    this.zone = zone;
    this.url = url;
    const parsed = new URL(url);
    const prefix = parsed.pathname.endsWith('/') ? parsed.pathname.slice(0, -1) : parsed.pathname;
    this.checkUrl = parsed.origin + prefix + dtcHealthPath;
  }

  /** Passing its checks, or not checked yet. */
  get healthy(): boolean {
    return checkPasses(this.counter);
  }
}

function dtcKey(zone: string, url: string): string {
  return `${zone}\n${url}`;
}

/** The DTC targets a config build uses; nothing changes until committed. */
export class DtcPlan {
  private readonly current: ReadonlyMap<string, DtcState>;
  readonly targets = new Map<string, DtcState>();

  constructor(current: ReadonlyMap<string, DtcState>) {
    this.current = current;
  }

  /** The state of a zone's DTC URL, kept across builds while zone and URL stay the same. */
  target(zone: string, url: string): DtcState {
    const key = dtcKey(zone, url);
    let state = this.targets.get(key) ?? this.current.get(key);
    if (state === undefined) state = new DtcState(zone, url);
    this.targets.set(key, state);
    return state;
  }
}

export interface DtcStatesOptions {
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
}

/**
 * The DTC URLs some failover-enabled API may forward to, with their health: active
 * checks of the remote runtime tier's reserved health path, and refused connections
 * on real traffic.
 */
export class DtcStates {
  private readonly options: DtcStatesOptions;
  private targets: ReadonlyMap<string, DtcState> = new Map();

  constructor(options: DtcStatesOptions) {
    this.options = options;
  }

  plan(): DtcPlan {
    return new DtcPlan(this.targets);
  }

  commit(plan: DtcPlan): void {
    const zones = new Set([...plan.targets.values()].map((t) => t.zone));
    for (const target of this.targets.values()) {
      if (!zones.has(target.zone)) this.options.metrics.dtcHealthy.remove(target.zone);
    }
    this.targets = plan.targets;
    for (const target of this.targets.values()) this.options.metrics.dtcHealthy.labels(target.zone).set(target.healthy ? 1 : 0);
  }

  checkJobs(): Map<string, CheckJob> {
    const jobs = new Map<string, CheckJob>();
    for (const [key, target] of this.targets) {
      jobs.set(`dtc\n${key}`, {
        url: target.checkUrl,
        intervalMs: dtcCheckIntervalMs,
        timeoutMs: dtcCheckTimeoutMs,
        signature: target.checkUrl,
        onResult: (passed, reason) => this.checkResult(target, passed, reason),
      });
    }
    return jobs;
  }

  checkResult(target: DtcState, passed: boolean, reason: string): void {
    const wasHealthy = target.healthy;
    target.counter = recordCheck(target.counter, passed, dtcCheckThresholds);
    if (!passed) target.reason = `health check failed: ${reason}`;
    this.changed(target, wasHealthy);
  }

  /** A forwarded request's connection was refused: the zone's runtime tier is out until a check passes. */
  refused(target: DtcState): void {
    if (!target.healthy) return;
    target.counter = failedCounter;
    target.reason = connectRefusedReason;
    this.changed(target, true);
  }

  private changed(target: DtcState, wasHealthy: boolean): void {
    if (target.healthy) target.reason = 'ok';
    if (target.healthy === wasHealthy || this.targets.get(dtcKey(target.zone, target.url)) !== target) return;
    const fields = { zone: target.zone, url: target.url, from: wasHealthy ? 'healthy' : 'unhealthy', to: target.healthy ? 'healthy' : 'unhealthy', reason: target.reason };
    if (target.healthy) this.options.log.info(fields, 'DTC target state changed');
    else this.options.log.warn(fields, 'DTC target state changed');
    this.options.metrics.dtcHealthy.labels(target.zone).set(target.healthy ? 1 : 0);
  }

  /** For the /config dump. */
  describe(zone: string): { readonly url: string; readonly healthy: boolean; readonly reason: string } | undefined {
    for (const target of this.targets.values()) {
      if (target.zone === zone) return { url: target.url, healthy: target.healthy, reason: target.reason };
    }
    return undefined;
  }
}
