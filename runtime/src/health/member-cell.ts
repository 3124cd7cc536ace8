import type { HealthCheck } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { RetryBudget } from '../upstreams/retry-budget.ts';
import { healthyState, isUsable, type MemberLiveState, type MemberState } from '../upstreams/member-state.ts';
import { uncheckedCounter, type CheckCounter, type CheckThresholds } from './check-verdict.ts';

/** A member's active health check with the defaults the controller also applies. */
export interface HealthCheckSettings {
  /** Appended to the member URL (after its own path, as request paths are). */
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly thresholds: CheckThresholds;
}

export const defaultCheckIntervalMs = 5_000;
export const defaultCheckTimeoutMs = 2_000;
export const defaultHealthyThreshold = 2;
export const defaultUnhealthyThreshold = 3;

/** The effective settings of a Member's `health_check`; undefined when it has none. */
export function healthCheckSettings(check: HealthCheck | undefined): HealthCheckSettings | undefined {
  if (check === undefined) return undefined;
  const intervalMs = check.intervalMs || defaultCheckIntervalMs;
  return {
    path: check.path || '/',
    intervalMs,
    timeoutMs: check.timeoutMs || Math.min(defaultCheckTimeoutMs, intervalMs),
    thresholds: {
      healthy: check.healthyThreshold || defaultHealthyThreshold,
      unhealthy: check.unhealthyThreshold || defaultUnhealthyThreshold,
    },
  };
}

/** The URL a member's check GETs: the member URL (with its path) followed by the check path. */
export function checkUrl(memberUrl: string, path: string): string {
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

/**
 * Everything known about one member: its inputs (control plane, active check, outlier
 * detection) and the state derived from them. Only MemberStates writes it.
 */
export class MemberCell implements MemberLiveState {
  readonly key: string;
  readonly cluster: ClusterState;
  readonly name: string;
  readonly url: string;
  state: MemberState = healthyState;
  activeRequests = 0;
  controlPlaneDown = false;
  check: CheckState | undefined = undefined;
  /** Outlier detection: failed attempts in a row on real traffic, and the last one's description. */
  consecutiveFailures = 0;
  lastFailure = '';
  /** Ejections so far (decaying), for the growing ejection time. */
  ejections = 0;
  lastEjectionEnd = 0;
  /** 0 when not ejected. */
  ejectedUntil = 0;
  /** The ejection is for a refused connection: the member shows as unhealthy, not ejected. */
  ejectionRefused = false;
  ejectionReason = '';
  ejectionTimer: NodeJS.Timeout | undefined = undefined;

  constructor(key: string, cluster: ClusterState, name: string, url: string) {
    this.key = key;
    this.cluster = cluster;
    this.name = name;
    this.url = url;
  }

  /** Why the member is (not) usable, as reported to the controller. */
  reason(now: number): string {
    const { state } = this;
    if (isUsable(state, now)) return 'ok';
    return state.kind === 'unhealthy' ? state.reason : this.ejectionReason;
  }
}

/** The live state of one cluster: its members, whether an API uses it, its retry budget. */
export class ClusterState {
  readonly name: string;
  readonly budget = new RetryBudget();
  members: readonly MemberCell[] = [];
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
