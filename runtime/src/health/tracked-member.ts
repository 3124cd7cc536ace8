import type { HealthCheck } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { RetryBudget } from '../upstreams/retry-budget.ts';
import {
  controlPlaneReason,
  healthyState,
  isUsable,
  type LiveMember,
  type MemberState,
} from '../upstreams/member-state.ts';
import { uncheckedCounter, type CheckCounter, type CheckThresholds } from './check-verdict.ts';

/** A member's active health check, as the config gives it (validated by the shared rules, defaults filled in by the controller). */
export interface HealthCheckSettings {
  /** Appended to the member URL (after its own path, as request paths are). */
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly thresholds: CheckThresholds;
}

/** The settings of a Member's `health_check`; undefined when it has none. */
export function healthCheckSettings(check: HealthCheck | undefined): HealthCheckSettings | undefined {
  if (check === undefined) return undefined;
  return {
    path: check.path,
    intervalMs: check.intervalMs,
    timeoutMs: check.timeoutMs,
    thresholds: { healthy: check.healthyThreshold, unhealthy: check.unhealthyThreshold },
  };
}

/** The URL a member's check GETs: the member URL (with its path) followed by the check path. */
function checkUrl(memberUrl: string, path: string): string {
  const url = new URL(memberUrl);
  const prefix = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  return url.origin + prefix + path;
}

/** The running check of a member: restarted (and its verdict forgotten) when the signature changes. */
export interface CheckState {
  readonly settings: HealthCheckSettings;
  readonly url: string;
  readonly signature: string;
  counter: CheckCounter;
  /** Why the member is failing its checks, once it is. */
  reason: string;
}

export function newCheckState(memberUrl: string, settings: HealthCheckSettings): CheckState {
  const url = checkUrl(memberUrl, settings.path);
  const { intervalMs, timeoutMs, thresholds } = settings;
  const signature = `${url} ${intervalMs} ${timeoutMs} ${thresholds.healthy} ${thresholds.unhealthy}`;
  return { settings, url, signature, counter: uncheckedCounter, reason: '' };
}

/** A member's health for the /config dump. */
export interface MemberDescription {
  readonly state: MemberState;
  readonly usable: boolean;
  readonly reason: string;
  readonly activeCheck: { readonly url: string; readonly verdict: string; readonly successes: number; readonly failures: number } | null;
  readonly consecutiveFailures: number;
  readonly ejections: number;
}

/**
 * Everything health tracking knows about one member: its inputs (control plane, active
 * check, outlier detection) and the state derived from them. Routes hold it as a
 * LiveMember; only the MemberTracker writes it.
 */
export class TrackedMember implements LiveMember {
  readonly key: string;
  readonly cluster: TrackedCluster;
  readonly name: string;
  readonly url: string;
  state: MemberState = healthyState;
  activeRequests = 0;
  controlPlaneDown = false;
  /** The member's `health_check` as configured; it runs (as `check`) while the cluster is in use. */
  declaredCheck: HealthCheck | undefined = undefined;
  check: CheckState | undefined = undefined;
  /** Outlier detection: failed attempts in a row on real traffic, and the last one's description. */
  consecutiveFailures = 0;
  lastFailure = '';
  /** Ejections so far (decaying), for the growing ejection time. */
  ejections = 0;
  lastEjectionEnd = 0;
  /** 0 when not ejected. */
  ejectedUntil = 0;
  /** The ejection is for a refused connection or a denied address: the member shows as unhealthy (with `ejectionReason`), not ejected. */
  ejectionRefused = false;
  /** An active check failed during the current ejection: a recovery then ends it early. */
  checkFailedWhileEjected = false;
  ejectionReason = '';
  ejectionTimer: NodeJS.Timeout | undefined = undefined;
  /** The local view last reported on, to tell listeners when it changes. */
  private lastView = 'ok';

  constructor(key: string, cluster: TrackedCluster, name: string, url: string) {
    this.key = key;
    this.cluster = cluster;
    this.name = name;
    this.url = url;
  }

  /** Why the member is (not) usable: `ok`, or the reason of the state in force. */
  reason(now: number): string {
    return this.reasonOf(this.state, now);
  }

  /**
   * What this runtime itself sees (active checks, outlier detection), leaving out the
   * control plane's verdict: reports must not echo the controller's own opinion back.
   */
  localView(now: number): { readonly healthy: boolean; readonly reason: string } {
    const state = deriveState(this, now, false);
    return { healthy: isUsable(state, now), reason: this.reasonOf(state, now) };
  }

  /** Records the local view; true when it differs from the last one recorded. */
  noteLocalView(now: number): boolean {
    const { reason } = this.localView(now);
    if (reason === this.lastView) return false;
    this.lastView = reason;
    return true;
  }

  describe(now: number): MemberDescription {
    const check = this.check;
    const counter = check?.counter ?? uncheckedCounter;
    return {
      state: this.state,
      usable: isUsable(this.state, now),
      reason: this.reason(now),
      activeCheck: check === undefined ? null : { url: check.url, verdict: counter.verdict, successes: counter.successes, failures: counter.failures },
      consecutiveFailures: this.consecutiveFailures,
      ejections: this.ejections,
    };
  }

  private reasonOf(state: MemberState, now: number): string {
    if (isUsable(state, now)) return 'ok';
    return state.kind === 'unhealthy' ? state.reason : this.ejectionReason;
  }
}

/** What health tracking keeps of one cluster: its members, whether an API uses it, its retry budget. */
export class TrackedCluster {
  readonly name: string;
  readonly budget = new RetryBudget();
  members: readonly TrackedMember[] = [];
  /** Some API routes to it: its members are actively checked and reported. */
  inUse = false;

  constructor(name: string) {
    this.name = name;
  }

  usable(now: number): number {
    let count = 0;
    for (const member of this.members) if (isUsable(member.state, now)) count++;
    return count;
  }

  /** Members ejected by outlier detection (refused connections are not counted against the share). */
  outlierEjected(now: number): number {
    let count = 0;
    for (const member of this.members) if (member.ejectedUntil > now && !member.ejectionRefused) count++;
    return count;
  }
}

/**
 * The state a member's inputs call for (pure): the control plane's verdict first (unless
 * left out), then failing active checks, then an ejection in force.
 */
export function deriveState(member: TrackedMember, now: number, withControlPlane = true): MemberState {
  const previous = member.state;
  const since = previous.kind === 'unhealthy' ? previous.since : now;
  if (withControlPlane && member.controlPlaneDown) return { kind: 'unhealthy', since, reason: controlPlaneReason };
  if (member.check !== undefined && member.check.counter.verdict === 'fail') return { kind: 'unhealthy', since, reason: member.check.reason };
  if (member.ejectedUntil > now) {
    return member.ejectionRefused ? { kind: 'unhealthy', since, reason: member.ejectionReason } : { kind: 'ejected', until: member.ejectedUntil };
  }
  return healthyState;
}

/** Whether two states are the same, deadline, reason and `since` included. */
export function sameState(a: MemberState, b: MemberState): boolean {
  if (a === b) return true;
  switch (a.kind) {
    case 'healthy':
      return b.kind === 'healthy';
    case 'ejected':
      return b.kind === 'ejected' && a.until === b.until;
    case 'unhealthy':
      return b.kind === 'unhealthy' && a.reason === b.reason && a.since === b.since;
  }
}
