import type { Logger } from '@causeway/shared';
import type { RuntimeMetrics } from '../metrics.ts';
import { connectRefusedReason } from '../upstreams/member-state.ts';
import { checkPasses, failedCounter, recordCheck, uncheckedCounter, type CheckCounter, type CheckThresholds } from './check-verdict.ts';
import type { CheckJob } from './health-checker.ts';

/** Reserved on every runtime's proxy listener: what DTC health checks GET. */
export const dtcHealthPath = '/.well-known/causeway/health';

/** Fixed DTC check settings: a zone's runtime tier is probed often, and dropped after two misses. */
const dtcCheckIntervalMs = 2_000;
const dtcCheckTimeoutMs = 1_000;
const dtcCheckThresholds: CheckThresholds = Object.freeze({ healthy: 1, unhealthy: 2 });

/** The health of one zone's DTC URL, as this runtime sees it. Only DtcTracker writes it. */
export class TrackedDtc {
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

interface HeldTarget {
  readonly state: TrackedDtc;
  /** Failover zones of the APIs in force that lead to it. */
  users: number;
}

/**
 * The changes a config build makes to the DTC targets in use: each `target` is one more
 * user, each `release` one fewer. Nothing changes until committed.
 */
export class DtcPlan {
  private readonly current: ReadonlyMap<string, HeldTarget>;
  /** A complete plan: every target in force loses its users first, so it keeps only what the build uses. */
  readonly complete: boolean;
  readonly targets = new Map<string, TrackedDtc>();
  /** Users gained (positive) or lost (negative) by target key. */
  readonly delta = new Map<string, number>();

  constructor(current: ReadonlyMap<string, HeldTarget>, complete: boolean) {
    this.current = current;
    this.complete = complete;
  }

  /** The state of a zone's DTC URL, kept across builds while zone and URL stay the same. */
  target(zone: string, url: string): TrackedDtc {
    const key = dtcKey(zone, url);
    let state = this.targets.get(key) ?? this.current.get(key)?.state;
    if (state === undefined) state = new TrackedDtc(zone, url);
    this.targets.set(key, state);
    this.delta.set(key, (this.delta.get(key) ?? 0) + 1);
    return state;
  }

  /** One user fewer for a target (a failover zone of an API being replaced). */
  release(target: TrackedDtc): void {
    const key = dtcKey(target.zone, target.url);
    this.delta.set(key, (this.delta.get(key) ?? 0) - 1);
  }
}

export interface DtcTrackerOptions {
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
}

/**
 * The DTC URLs some failover-enabled API may forward to, with their health: active
 * checks of the remote runtime tier's reserved health path, and refused connections
 * on real traffic.
 */
export class DtcTracker {
  private readonly options: DtcTrackerOptions;
  private readonly targets = new Map<string, HeldTarget>();

  constructor(options: DtcTrackerOptions) {
    this.options = options;
  }

  /** A plan that replaces every target: those it does not use are dropped on commit. */
  plan(): DtcPlan {
    return new DtcPlan(this.targets, true);
  }

  /** A plan that adds and releases users of the targets in force. */
  changes(): DtcPlan {
    return new DtcPlan(this.targets, false);
  }

  /** Makes a plan current; returns the check jobs it starts (a job) or stops (undefined), by id. */
  commit(plan: DtcPlan): Map<string, CheckJob | undefined> {
    if (plan.complete) for (const held of this.targets.values()) held.users = 0;
    const touched = plan.complete ? [...this.targets.keys()] : [];
    for (const [key, delta] of plan.delta) {
      const state = plan.targets.get(key);
      if (state !== undefined && !this.targets.has(key)) this.targets.set(key, { state, users: 0 });
      const held = this.targets.get(key);
      if (held !== undefined) held.users += delta;
      touched.push(key);
    }
    const jobs = new Map<string, CheckJob | undefined>();
    const dropped = new Set<string>();
    for (const key of new Set(touched)) {
      const held = this.targets.get(key);
      if (held === undefined) continue;
      if (held.users > 0) {
        jobs.set(`dtc\n${key}`, this.checkJob(held.state));
        this.options.metrics.dtcHealthy.labels(held.state.zone).set(held.state.healthy ? 1 : 0);
        continue;
      }
      this.targets.delete(key);
      jobs.set(`dtc\n${key}`, undefined);
      dropped.add(held.state.zone);
    }
    for (const zone of dropped) if (!this.inUse(zone)) this.options.metrics.dtcHealthy.remove(zone);
    return jobs;
  }

  private inUse(zone: string): boolean {
    for (const held of this.targets.values()) if (held.state.zone === zone) return true;
    return false;
  }

  private checkJob(target: TrackedDtc): CheckJob {
    return {
      url: target.checkUrl,
      intervalMs: dtcCheckIntervalMs,
      timeoutMs: dtcCheckTimeoutMs,
      signature: target.checkUrl,
      onResult: (passed, reason) => this.checkResult(target, passed, reason),
    };
  }

  checkResult(target: TrackedDtc, passed: boolean, reason: string): void {
    const wasHealthy = target.healthy;
    target.counter = recordCheck(target.counter, passed, dtcCheckThresholds);
    if (!passed) target.reason = `health check failed: ${reason}`;
    this.changed(target, wasHealthy);
  }

  /** A forwarded request's connection was refused: the zone's runtime tier is out until a check passes. */
  refused(target: TrackedDtc): void {
    if (!target.healthy) return;
    target.counter = failedCounter;
    target.reason = connectRefusedReason;
    this.changed(target, true);
  }

  private changed(target: TrackedDtc, wasHealthy: boolean): void {
    if (target.healthy) target.reason = 'ok';
    if (target.healthy === wasHealthy || this.targets.get(dtcKey(target.zone, target.url))?.state !== target) return;
    const fields = { zone: target.zone, url: target.url, from: wasHealthy ? 'healthy' : 'unhealthy', to: target.healthy ? 'healthy' : 'unhealthy', reason: target.reason };
    if (target.healthy) this.options.log.info(fields, 'DTC target state changed');
    else this.options.log.warn(fields, 'DTC target state changed');
    this.options.metrics.dtcHealthy.labels(target.zone).set(target.healthy ? 1 : 0);
  }

  /** For the /config dump. */
  describe(zone: string): { readonly url: string; readonly healthy: boolean; readonly reason: string } | undefined {
    for (const { state } of this.targets.values()) {
      if (state.zone === zone) return { url: state.url, healthy: state.healthy, reason: state.reason };
    }
    return undefined;
  }
}
