import type { Logger } from '@causeway/shared';
import { MemberHealth } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { forgetClusterMetrics, type RuntimeMetrics } from '../metrics.ts';
import { connectRefusedReason, isUsable, memberKey, type LiveMember, type MemberState } from '../upstreams/member-state.ts';
import { checkPasses, failedCounter, recordCheck } from './check-verdict.ts';
import type { CheckJob } from './health-checker.ts';
import { deriveState, healthCheckSettings, newCheckState, sameState, type MemberDescription, type TrackedCluster, type TrackedMember } from './tracked-member.ts';
import { MemberPlan, type MemberLookup, type PlannedCluster } from './member-plan.ts';
import { decayedEjections, ejectionAllowed, ejectionMs, type OutlierSettings } from './outlier.ts';

export type { MemberDefinition } from './member-plan.ts';
export type { MemberDescription } from './tracked-member.ts';

/** What a runtime reports about one member (MemberHealthReport). */
export interface MemberReport {
  readonly cluster: string;
  readonly member: string;
  readonly healthy: boolean;
  readonly reason: string;
}

export interface MemberTrackerOptions {
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  readonly outlier: OutlierSettings;
  readonly now: () => number;
  /** Called after any member changes state (kind or reason), e.g. to send a report soon. */
  readonly onChange?: () => void;
}

/**
 * The state of every member, by `memberKey()`, and the one place where it changes
 * (`transition`). Members keep their state, counters and in-flight count across config
 * updates that leave them in place.
 */
export class MemberTracker implements MemberLookup {
  private readonly options: MemberTrackerOptions;
  private readonly members = new Map<string, TrackedMember>();
  private readonly clusters = new Map<string, TrackedCluster>();

  constructor(options: MemberTrackerOptions) {
    this.options = options;
  }

  /** A plan that declares every cluster and member: what it leaves out is dropped. */
  plan(): MemberPlan {
    return new MemberPlan(this, true);
  }

  /** A plan of the clusters that change; the others stay as they are. */
  changes(): MemberPlan {
    return new MemberPlan(this, false);
  }

  trackedMember(key: string): TrackedMember | undefined {
    return this.members.get(key);
  }

  trackedCluster(name: string): TrackedCluster | undefined {
    return this.clusters.get(name);
  }

  state(key: string): MemberState | undefined {
    return this.members.get(key)?.state;
  }

  /**
   * Makes a plan current: drops what it removes, applies the control plane's verdict and
   * check settings of the clusters it touches. Returns the active checks of the members
   * it touched (undefined: none, or the member is gone), by member key.
   */
  commit(plan: MemberPlan): Map<string, CheckJob | undefined> {
    const now = this.options.now();
    const jobs = new Map<string, CheckJob | undefined>();
    const removed = plan.complete ? [...this.clusters.keys()].filter((name) => !plan.clusters.has(name)) : plan.removed;
    for (const name of removed) this.dropCluster(name, jobs);
    for (const [name, planned] of plan.clusters) this.replaceMembers(name, planned, jobs);
    const touched = new Set([...plan.clusters.keys(), ...plan.usage.keys()]);
    for (const name of touched) {
      const cluster = this.clusters.get(name);
      if (cluster === undefined) continue;
      cluster.inUse = plan.usage.get(name) ?? (plan.complete ? false : cluster.inUse);
      for (const tracked of cluster.members) {
        this.configure(tracked, now);
        jobs.set(tracked.key, this.checkJob(tracked));
      }
      this.updateGauges(cluster, now);
    }
    return jobs;
  }

  private dropCluster(name: string, jobs: Map<string, CheckJob | undefined>): void {
    const cluster = this.clusters.get(name);
    if (cluster === undefined) return;
    for (const tracked of cluster.members) this.dropMember(tracked, jobs);
    this.clusters.delete(name);
    forgetClusterMetrics(this.options.metrics, name);
  }

  private dropMember(tracked: TrackedMember, jobs: Map<string, CheckJob | undefined>): void {
    clearTimeout(tracked.ejectionTimer);
    this.members.delete(tracked.key);
    jobs.set(tracked.key, undefined);
  }

  private replaceMembers(name: string, planned: PlannedCluster, jobs: Map<string, CheckJob | undefined>): void {
    for (const tracked of this.clusters.get(name)?.members ?? []) if (!planned.members.has(tracked.key)) this.dropMember(tracked, jobs);
    const members: TrackedMember[] = [];
    for (const { tracked, definition } of planned.members.values()) {
      tracked.controlPlaneDown = definition.controlPlaneHealth === MemberHealth.UNHEALTHY;
      tracked.declaredCheck = definition.healthCheck;
      this.members.set(tracked.key, tracked);
      members.push(tracked);
    }
    planned.tracked.members = members;
    this.clusters.set(name, planned.tracked);
  }

  /** Applies a member's check settings (members of clusters in use only) and derives its state. */
  private configure(tracked: TrackedMember, now: number): void {
    const settings = tracked.cluster.inUse ? healthCheckSettings(tracked.declaredCheck) : undefined;
    const check = settings === undefined ? undefined : newCheckState(tracked.url, settings);
    if (check?.signature !== tracked.check?.signature) tracked.check = check;
    this.transition(tracked, now, 'config changed');
  }

  private checkJob(tracked: TrackedMember): CheckJob | undefined {
    const check = tracked.check;
    if (check === undefined) return undefined;
    const { signature } = check;
    return {
      url: check.url,
      intervalMs: check.settings.intervalMs,
      timeoutMs: check.settings.timeoutMs,
      signature,
      onResult: (passed, reason) => this.checkResult(tracked, signature, passed, reason),
    };
  }

  /** The active checks the members in force need, by member key. */
  checkJobs(): Map<string, CheckJob> {
    const jobs = new Map<string, CheckJob>();
    for (const tracked of this.members.values()) {
      const job = this.checkJob(tracked);
      if (job !== undefined) jobs.set(tracked.key, job);
    }
    return jobs;
  }

  /** An active check of the member ended. */
  checkResult(tracked: TrackedMember, signature: string, passed: boolean, reason: string): void {
    const check = tracked.check;
    if (this.members.get(tracked.key) !== tracked || check === undefined || check.signature !== signature) return;
    this.options.metrics.healthChecks.labels(tracked.cluster.name, passed ? 'pass' : 'fail').inc();
    check.counter = recordCheck(check.counter, passed, check.settings.thresholds);
    if (!passed) check.reason = `health check failed: ${reason}`;
    const now = this.options.now();
    if (tracked.ejectedUntil > now) {
      if (!passed) tracked.checkFailedWhileEjected = true;
      // Its checks saw it down and now see it back (a restarted gateway): the ejection has
      // served its purpose. A member whose checks kept passing stays out its full time.
      else if (tracked.checkFailedWhileEjected && checkPasses(check.counter)) {
        this.endEjection(tracked, now, 'health checks pass again: ejection ended');
        return;
      }
    }
    this.transition(tracked, now, passed ? 'health check passed' : check.reason);
  }

  /** An attempt got a response that is not a gateway failure: the failure streak ends. */
  succeeded(live: LiveMember): void {
    const tracked = this.members.get(live.key);
    if (tracked === live && tracked.consecutiveFailures !== 0) tracked.consecutiveFailures = 0;
  }

  /** An attempt failed (no connection, reset, timeout, 502/503/504): counts towards ejection. */
  failed(live: LiveMember, failure: string): void {
    const tracked = this.members.get(live.key);
    if (tracked !== live) return;
    const { outlier, metrics, log } = this.options;
    tracked.consecutiveFailures++;
    tracked.lastFailure = failure;
    const now = this.options.now();
    if (tracked.consecutiveFailures < outlier.consecutiveFailures || !isUsable(tracked.state, now)) return;
    const cluster = tracked.cluster;
    if (!ejectionAllowed(outlier, cluster.members.length, cluster.outlierEjected(now), cluster.usable(now) - 1)) {
      metrics.outlierEjectionsSkipped.labels(cluster.name).inc();
      log.debug({ cluster: cluster.name, member: tracked.name, failures: tracked.consecutiveFailures }, 'ejection skipped: cluster at its maximum ejected share');
      return;
    }
    this.eject(tracked, now, false, `ejected after ${tracked.consecutiveFailures} consecutive failures (last: ${failure})`);
  }

  /**
   * The member refused a connection (or its address is denied): definitive, so it is out
   * at once whatever the ejected share. Its active checks bring it back; without any, the
   * ejection timer does.
   */
  refused(live: LiveMember, reason = connectRefusedReason): void {
    const tracked = this.members.get(live.key);
    const now = this.options.now();
    if (tracked !== live || !isUsable(tracked.state, now)) return;
    tracked.consecutiveFailures = 0;
    if (tracked.check === undefined) {
      this.eject(tracked, now, true, reason);
      return;
    }
    tracked.check.counter = failedCounter;
    tracked.check.reason = reason;
    this.transition(tracked, now, reason);
  }

  private eject(tracked: TrackedMember, now: number, refused: boolean, reason: string): void {
    const { outlier } = this.options;
    const ejections = decayedEjections(outlier, tracked.ejections, tracked.lastEjectionEnd, now) + 1;
    const durationMs = ejectionMs(outlier, ejections);
    tracked.ejections = ejections;
    tracked.ejectedUntil = now + durationMs;
    tracked.ejectionRefused = refused;
    tracked.ejectionReason = reason;
    tracked.checkFailedWhileEjected = false;
    tracked.consecutiveFailures = 0;
    clearTimeout(tracked.ejectionTimer);
    tracked.ejectionTimer = setTimeout(() => this.ejectionOver(tracked), durationMs);
    tracked.ejectionTimer.unref();
    this.transition(tracked, now, reason);
  }

  private ejectionOver(tracked: TrackedMember): void {
    tracked.ejectionTimer = undefined;
    if (this.members.get(tracked.key) !== tracked) return;
    this.endEjection(tracked, this.options.now(), 'ejection time over');
  }

  private endEjection(tracked: TrackedMember, now: number, cause: string): void {
    clearTimeout(tracked.ejectionTimer);
    tracked.ejectionTimer = undefined;
    tracked.ejectedUntil = 0;
    tracked.ejectionRefused = false;
    tracked.checkFailedWhileEjected = false;
    tracked.lastEjectionEnd = now;
    tracked.consecutiveFailures = 0;
    this.transition(tracked, now, cause);
  }

  /** The one place where a member's state changes: logged once, counted, reported. */
  private transition(tracked: TrackedMember, now: number, cause: string): void {
    const previous = tracked.state;
    const next = deriveState(tracked, now);
    const viewChanged = tracked.noteLocalView(now);
    if (sameState(previous, next)) {
      if (viewChanged) this.options.onChange?.();
      return;
    }
    tracked.state = next;
    if (previous.kind !== next.kind) {
      const cluster = tracked.cluster.name;
      const reason = next.kind === 'healthy' ? cause : tracked.reason(now);
      const fields = { cluster, member: tracked.name, url: tracked.url, from: previous.kind, to: next.kind, reason };
      if (next.kind === 'healthy') this.options.log.info(fields, 'member state changed');
      else this.options.log.warn(fields, 'member state changed');
      this.options.metrics.memberStateChanges.labels(cluster, next.kind).inc();
      this.updateGauges(tracked.cluster, now);
    }
    this.options.onChange?.();
  }

  private updateGauges(cluster: TrackedCluster, now: number): void {
    this.options.metrics.clusterMembers.labels(cluster.name).set(cluster.members.length);
    this.options.metrics.clusterHealthyMembers.labels(cluster.name).set(cluster.usable(now));
  }

  /** What this runtime itself sees of every member of every cluster in use (not the control plane's verdict). */
  reports(): MemberReport[] {
    const now = this.options.now();
    const reports: MemberReport[] = [];
    for (const cluster of this.clusters.values()) {
      if (!cluster.inUse) continue;
      for (const tracked of cluster.members) reports.push({ cluster: cluster.name, member: tracked.name, ...tracked.localView(now) });
    }
    return reports;
  }

  describe(cluster: string, member: string, url: string): MemberDescription | undefined {
    return this.members.get(memberKey(cluster, member, url))?.describe(this.options.now());
  }

  /** Stops every ejection timer. */
  close(): void {
    for (const tracked of this.members.values()) clearTimeout(tracked.ejectionTimer);
  }
}
