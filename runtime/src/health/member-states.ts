import type { Logger } from '@causeway/shared';
import { MemberHealth, type HealthCheck } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { forgetClusterMetrics, type RuntimeMetrics } from '../metrics.ts';
import { connectRefusedReason, isUsable, memberKey, type MemberLiveState, type MemberState } from '../upstreams/member-state.ts';
import { failedCounter, recordCheck, uncheckedCounter } from './check-verdict.ts';
import type { CheckJob } from './health-checker.ts';
import { ClusterState, deriveState, healthCheckSettings, MemberCell, newCheckState, sameState } from './member-cell.ts';
import { decayedEjections, ejectionAllowed, ejectionMs, type OutlierSettings } from './outlier.ts';

/** A member as one config build declares it. */
export interface MemberDefinition {
  readonly cluster: string;
  readonly name: string;
  readonly url: string;
  readonly controlPlaneHealth: MemberHealth;
  readonly healthCheck: HealthCheck | undefined;
}

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

/** The members and clusters a config build wants; nothing changes until `commit()`. */
export class MemberStatePlan {
  private readonly owner: MemberStates;
  readonly members = new Map<string, { readonly cell: MemberCell; readonly definition: MemberDefinition }>();
  readonly clusters = new Map<string, { readonly state: ClusterState; readonly cells: MemberCell[] }>();
  readonly used = new Set<string>();

  constructor(owner: MemberStates) {
    this.owner = owner;
  }

  /** The live state of a cluster (kept across builds by name). */
  cluster(name: string): ClusterState {
    let planned = this.clusters.get(name);
    if (planned === undefined) {
      planned = { state: this.owner.clusterState(name) ?? new ClusterState(name), cells: [] };
      this.clusters.set(name, planned);
    }
    return planned.state;
  }

  /** Marks a cluster as used by an API: its members are checked and reported. */
  use(name: string): void {
    this.used.add(name);
  }

  /** The live state of a member in the config being built (kept across builds by cluster, name and URL). */
  member(definition: MemberDefinition): MemberLiveState {
    const key = memberKey(definition.cluster, definition.name, definition.url);
    const planned = this.members.get(key);
    if (planned !== undefined) return planned.cell;
    const cluster = this.cluster(definition.cluster);
    const cell = this.owner.cell(key) ?? new MemberCell(key, cluster, definition.name, definition.url);
    this.members.set(key, { cell, definition });
    this.clusters.get(definition.cluster)?.cells.push(cell);
    return cell;
  }
}

/**
 * The state of every member, by `memberKey()`, and the one place where it changes
 * (`transition`). Members keep their state, counters and in-flight count across config
 * updates that leave them in place.
 */
export class MemberStates {
  private readonly options: MemberStatesOptions;
  private cells = new Map<string, MemberCell>();
  private clusters = new Map<string, ClusterState>();

  constructor(options: MemberStatesOptions) {
    this.options = options;
  }

  plan(): MemberStatePlan {
    return new MemberStatePlan(this);
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

  /** Makes a plan current: forgets what it does not contain, applies the control plane and check settings. */
  commit(plan: MemberStatePlan): void {
    const now = this.options.now();
    for (const [key, cell] of this.cells) if (!plan.members.has(key)) clearTimeout(cell.ejectionTimer);
    for (const name of this.clusters.keys()) if (!plan.clusters.has(name)) forgetClusterMetrics(this.options.metrics, name);
    this.cells = new Map([...plan.members].map(([key, { cell }]) => [key, cell]));
    this.clusters = new Map([...plan.clusters].map(([name, { state }]) => [name, state]));
    for (const [name, { state, cells }] of plan.clusters) {
      state.members = cells;
      state.inUse = plan.used.has(name);
    }
    for (const { cell, definition } of plan.members.values()) {
      cell.controlPlaneDown = definition.controlPlaneHealth === MemberHealth.UNHEALTHY;
      const settings = cell.cluster.inUse ? healthCheckSettings(definition.healthCheck) : undefined;
      const check = settings === undefined ? undefined : newCheckState(cell.url, settings);
      if (check?.signature !== cell.check?.signature) cell.check = check;
      this.transition(cell, now, 'config changed');
    }
    for (const cluster of this.clusters.values()) this.updateGauges(cluster, now);
  }

  /** The active checks the members in force need, by member key. */
  checkJobs(): Map<string, CheckJob> {
    const jobs = new Map<string, CheckJob>();
    for (const cell of this.cells.values()) {
      const check = cell.check;
      if (check === undefined) continue;
      const { signature } = check;
      jobs.set(cell.key, {
        url: check.url,
        intervalMs: check.settings.intervalMs,
        timeoutMs: check.settings.timeoutMs,
        signature,
        onResult: (passed, reason) => this.checkResult(cell, signature, passed, reason),
      });
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
    this.transition(cell, this.options.now(), passed ? 'health check passed' : check.reason);
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
   * The member refused a connection: definitive, so it is out at once whatever the
   * ejected share. Its active checks bring it back; without any, the ejection timer does.
   */
  refused(live: MemberLiveState): void {
    const cell = this.cells.get(live.key);
    const now = this.options.now();
    if (cell !== live || !isUsable(cell.state, now)) return;
    cell.consecutiveFailures = 0;
    if (cell.check === undefined) {
      this.eject(cell, now, true, connectRefusedReason);
      return;
    }
    cell.check.counter = failedCounter;
    cell.check.reason = connectRefusedReason;
    this.transition(cell, now, connectRefusedReason);
  }

  private eject(cell: MemberCell, now: number, refused: boolean, reason: string): void {
    const { outlier } = this.options;
    const ejections = decayedEjections(outlier, cell.ejections, cell.lastEjectionEnd, now) + 1;
    const durationMs = ejectionMs(outlier, ejections);
    cell.ejections = ejections;
    cell.ejectedUntil = now + durationMs;
    cell.ejectionRefused = refused;
    cell.ejectionReason = reason;
    cell.consecutiveFailures = 0;
    clearTimeout(cell.ejectionTimer);
    cell.ejectionTimer = setTimeout(() => this.ejectionOver(cell), durationMs);
    cell.ejectionTimer.unref();
    this.transition(cell, now, reason);
  }

  private ejectionOver(cell: MemberCell): void {
    cell.ejectionTimer = undefined;
    if (this.cells.get(cell.key) !== cell) return;
    const now = this.options.now();
    cell.ejectedUntil = 0;
    cell.ejectionRefused = false;
    cell.lastEjectionEnd = now;
    cell.consecutiveFailures = 0;
    this.transition(cell, now, 'ejection time over');
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
