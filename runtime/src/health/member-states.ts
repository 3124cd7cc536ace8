import type { Logger } from '@causeway/shared';
import { MemberHealth } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { forgetClusterMetrics, type RuntimeMetrics } from '../metrics.ts';
import { connectRefusedReason, isUsable, memberKey, type MemberLiveState, type MemberState } from '../upstreams/member-state.ts';
import { checkPasses, failedCounter, recordCheck, uncheckedCounter } from './check-verdict.ts';
import type { CheckJob } from './health-checker.ts';
import { deriveState, healthCheckSettings, newCheckState, sameState, type ClusterState, type MemberCell } from './member-cell.ts';
import { MemberStatePlan, type MemberLookup, type PlannedCluster } from './member-state-plan.ts';
import { decayedEjections, ejectionAllowed, ejectionMs, type OutlierSettings } from './outlier.ts';

export type { MemberDefinition } from './member-state-plan.ts';

/** What a runtime reports about one member (MemberHealthReport). */
export interface MemberReport {
  readonly cluster: string;
  readonly member: string;
  readonly healthy: boolean;
  readonly reason: string;
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

export interface MemberStatesOptions {
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
export class MemberStates implements MemberLookup {
  private readonly options: MemberStatesOptions;
  private readonly cells = new Map<string, MemberCell>();
  private readonly clusters = new Map<string, ClusterState>();

  constructor(options: MemberStatesOptions) {
    this.options = options;
  }

  /** A plan that declares every cluster and member: what it leaves out is dropped. */
  plan(): MemberStatePlan {
    return new MemberStatePlan(this, true);
  }

  /** A plan of the clusters that change; the others stay as they are. */
  changes(): MemberStatePlan {
    return new MemberStatePlan(this, false);
  }

  cell(key: string): MemberCell | undefined {
    return this.cells.get(key);
  }

  clusterState(name: string): ClusterState | undefined {
    return this.clusters.get(name);
  }

  state(key: string): MemberState | undefined {
    return this.cells.get(key)?.state;
  }

  /**
   * Makes a plan current: drops what it removes, applies the control plane's verdict and
   * check settings of the clusters it touches. Returns the active checks of the members
   * it touched (undefined: none, or the member is gone), by member key.
   */
  commit(plan: MemberStatePlan): Map<string, CheckJob | undefined> {
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
      for (const cell of cluster.members) {
        this.configure(cell, now);
        jobs.set(cell.key, this.checkJob(cell));
      }
      this.updateGauges(cluster, now);
    }
    return jobs;
  }

  private dropCluster(name: string, jobs: Map<string, CheckJob | undefined>): void {
    const cluster = this.clusters.get(name);
    if (cluster === undefined) return;
    for (const cell of cluster.members) this.dropCell(cell, jobs);
    this.clusters.delete(name);
    forgetClusterMetrics(this.options.metrics, name);
  }

  private dropCell(cell: MemberCell, jobs: Map<string, CheckJob | undefined>): void {
    clearTimeout(cell.ejectionTimer);
    this.cells.delete(cell.key);
    jobs.set(cell.key, undefined);
  }

  private replaceMembers(name: string, planned: PlannedCluster, jobs: Map<string, CheckJob | undefined>): void {
    for (const cell of this.clusters.get(name)?.members ?? []) if (!planned.members.has(cell.key)) this.dropCell(cell, jobs);
    const cells: MemberCell[] = [];
    for (const { cell, definition } of planned.members.values()) {
      cell.controlPlaneDown = definition.controlPlaneHealth === MemberHealth.UNHEALTHY;
      cell.declaredCheck = definition.healthCheck;
      this.cells.set(cell.key, cell);
      cells.push(cell);
    }
    planned.state.members = cells;
    this.clusters.set(name, planned.state);
  }

  /** Applies a member's check settings (members of clusters in use only) and derives its state. */
  private configure(cell: MemberCell, now: number): void {
    const settings = cell.cluster.inUse ? healthCheckSettings(cell.declaredCheck) : undefined;
    const check = settings === undefined ? undefined : newCheckState(cell.url, settings);
    if (check?.signature !== cell.check?.signature) cell.check = check;
    this.transition(cell, now, 'config changed');
  }

  private checkJob(cell: MemberCell): CheckJob | undefined {
    const check = cell.check;
    if (check === undefined) return undefined;
    const { signature } = check;
    return {
      url: check.url,
      intervalMs: check.settings.intervalMs,
      timeoutMs: check.settings.timeoutMs,
      signature,
      onResult: (passed, reason) => this.checkResult(cell, signature, passed, reason),
    };
  }

  /** The active checks the members in force need, by member key. */
  checkJobs(): Map<string, CheckJob> {
    const jobs = new Map<string, CheckJob>();
    for (const cell of this.cells.values()) {
      const job = this.checkJob(cell);
      if (job !== undefined) jobs.set(cell.key, job);
    }
    return jobs;
  }

  /** An active check of the member ended. */
  checkResult(cell: MemberCell, signature: string, passed: boolean, reason: string): void {
    const check = cell.check;
    if (this.cells.get(cell.key) !== cell || check === undefined || check.signature !== signature) return;
    this.options.metrics.healthChecks.labels(cell.cluster.name, passed ? 'pass' : 'fail').inc();
    check.counter = recordCheck(check.counter, passed, check.settings.thresholds);
    if (!passed) check.reason = `health check failed: ${reason}`;
    const now = this.options.now();
    if (cell.ejectedUntil > now) {
      if (!passed) cell.checkFailedWhileEjected = true;
      // Its checks saw it down and now see it back (a restarted gateway): the ejection has
      // served its purpose. A member whose checks kept passing stays out its full time.
      else if (cell.checkFailedWhileEjected && checkPasses(check.counter)) {
        this.endEjection(cell, now, 'health checks pass again: ejection ended');
        return;
      }
    }
    this.transition(cell, now, passed ? 'health check passed' : check.reason);
  }

  /** An attempt got a response that is not a gateway failure: the failure streak ends. */
  succeeded(live: MemberLiveState): void {
    const cell = this.cells.get(live.key);
    if (cell === live && cell.consecutiveFailures !== 0) cell.consecutiveFailures = 0;
  }

  /** An attempt failed (no connection, reset, timeout, 502/503/504): counts towards ejection. */
  failed(live: MemberLiveState, failure: string): void {
    const cell = this.cells.get(live.key);
    if (cell !== live) return;
    const { outlier, metrics, log } = this.options;
    cell.consecutiveFailures++;
    cell.lastFailure = failure;
    const now = this.options.now();
    if (cell.consecutiveFailures < outlier.consecutiveFailures || !isUsable(cell.state, now)) return;
    const cluster = cell.cluster;
    if (!ejectionAllowed(outlier, cluster.members.length, cluster.outlierEjected(now), cluster.usable(now) - 1)) {
      metrics.outlierEjectionsSkipped.labels(cluster.name).inc();
      log.debug({ cluster: cluster.name, member: cell.name, failures: cell.consecutiveFailures }, 'ejection skipped: cluster at its maximum ejected share');
      return;
    }
    this.eject(cell, now, false, `ejected after ${cell.consecutiveFailures} consecutive failures (last: ${failure})`);
  }

  /**
   * The member refused a connection (or its address is denied): definitive, so it is out
   * at once whatever the ejected share. Its active checks bring it back; without any, the
   * ejection timer does.
   */
  refused(live: MemberLiveState, reason = connectRefusedReason): void {
    const cell = this.cells.get(live.key);
    const now = this.options.now();
    if (cell !== live || !isUsable(cell.state, now)) return;
    cell.consecutiveFailures = 0;
    if (cell.check === undefined) {
      this.eject(cell, now, true, reason);
      return;
    }
    cell.check.counter = failedCounter;
    cell.check.reason = reason;
    this.transition(cell, now, reason);
  }

  private eject(cell: MemberCell, now: number, refused: boolean, reason: string): void {
    const { outlier } = this.options;
    const ejections = decayedEjections(outlier, cell.ejections, cell.lastEjectionEnd, now) + 1;
    const durationMs = ejectionMs(outlier, ejections);
    cell.ejections = ejections;
    cell.ejectedUntil = now + durationMs;
    cell.ejectionRefused = refused;
    cell.ejectionReason = reason;
    cell.checkFailedWhileEjected = false;
    cell.consecutiveFailures = 0;
    clearTimeout(cell.ejectionTimer);
    cell.ejectionTimer = setTimeout(() => this.ejectionOver(cell), durationMs);
    cell.ejectionTimer.unref();
    this.transition(cell, now, reason);
  }

  private ejectionOver(cell: MemberCell): void {
    cell.ejectionTimer = undefined;
    if (this.cells.get(cell.key) !== cell) return;
    this.endEjection(cell, this.options.now(), 'ejection time over');
  }

  private endEjection(cell: MemberCell, now: number, cause: string): void {
    clearTimeout(cell.ejectionTimer);
    cell.ejectionTimer = undefined;
    cell.ejectedUntil = 0;
    cell.ejectionRefused = false;
    cell.checkFailedWhileEjected = false;
    cell.lastEjectionEnd = now;
    cell.consecutiveFailures = 0;
    this.transition(cell, now, cause);
  }

  /** The one place where a member's state changes: logged once, counted, reported. */
  private transition(cell: MemberCell, now: number, cause: string): void {
    const previous = cell.state;
    const next = deriveState(cell, now);
    const viewChanged = cell.noteLocalView(now);
    if (sameState(previous, next)) {
      if (viewChanged) this.options.onChange?.();
      return;
    }
    cell.state = next;
    if (previous.kind !== next.kind) {
      const cluster = cell.cluster.name;
      const reason = next.kind === 'healthy' ? cause : cell.reason(now);
      const fields = { cluster, member: cell.name, url: cell.url, from: previous.kind, to: next.kind, reason };
      if (next.kind === 'healthy') this.options.log.info(fields, 'member state changed');
      else this.options.log.warn(fields, 'member state changed');
      this.options.metrics.memberStateChanges.labels(cluster, next.kind).inc();
      this.updateGauges(cell.cluster, now);
    }
    this.options.onChange?.();
  }

  private updateGauges(cluster: ClusterState, now: number): void {
    this.options.metrics.clusterMembers.labels(cluster.name).set(cluster.members.length);
    this.options.metrics.clusterHealthyMembers.labels(cluster.name).set(cluster.usable(now));
  }

  /** What this runtime itself sees of every member of every cluster in use (not the control plane's verdict). */
  reports(): MemberReport[] {
    const now = this.options.now();
    const reports: MemberReport[] = [];
    for (const cluster of this.clusters.values()) {
      if (!cluster.inUse) continue;
      for (const cell of cluster.members) reports.push({ cluster: cluster.name, member: cell.name, ...cell.localView(now) });
    }
    return reports;
  }

  describe(cluster: string, member: string, url: string): MemberDescription | undefined {
    const cell = this.cells.get(memberKey(cluster, member, url));
    if (cell === undefined) return undefined;
    const now = this.options.now();
    const check = cell.check;
    const counter = check?.counter ?? uncheckedCounter;
    return {
      state: cell.state,
      usable: isUsable(cell.state, now),
      reason: cell.reason(now),
      activeCheck: check === undefined ? null : { url: check.url, verdict: counter.verdict, successes: counter.successes, failures: counter.failures },
      consecutiveFailures: cell.consecutiveFailures,
      ejections: cell.ejections,
    };
  }

  /** Stops every ejection timer. */
  close(): void {
    for (const cell of this.cells.values()) clearTimeout(cell.ejectionTimer);
  }
}
