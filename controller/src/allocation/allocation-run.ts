import { setTimeout as sleep } from 'node:timers/promises';
import { CausewayError, type Logger } from '@causeway/shared';
import type { StatusWatch } from '../deployment/status-watch.ts';
import { failpoint, type FailpointName } from '../failpoints.ts';
import type { ControllerMetrics } from '../metrics.ts';
import { liftQuarantine, quarantineGateway } from '../store/allocation-gateways.ts';
import {
  abandonRunningSteps,
  beginStep,
  getAllocation,
  LeaseLost,
  moveAllocation,
  recordStep,
  type Allocation,
  type AllocationError,
  type AllocationState,
  type Direction,
  type StepName,
  type StepOutcome,
} from '../store/allocations.ts';
import type { Sql } from '../store/database.ts';
import type { HealthSettings } from '../store/gateway-health.ts';
import { mutate, type AuditContext, type Mutation } from '../store/mutate.ts';
import { AllocationFailed, errorOf, storedError } from './allocation-failed.ts';
import { stepActions, type AllocationSettings, type StepContext, type StepResult } from './allocation-steps.ts';
import type { HandshakeClient } from './handshake-client.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import { forwardSteps, undoPlan } from './undo-plan.ts';

export interface RunDeps {
  readonly sql: Sql;
  /** This replica: the lease holder. */
  readonly owner: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly settings: AllocationSettings;
  readonly health: HealthSettings;
  readonly handshake: HandshakeClient;
  readonly watch: StatusWatch;
}

/** Where an allocation goes: each state with what it needs, moved to by `moveTo` only. */
type Phase =
  | { readonly state: 'ready' }
  | { readonly state: 'rolling-back'; readonly error: AllocationError }
  | { readonly state: 'rolled-back' }
  | { readonly state: 'released' }
  | { readonly state: 'failed'; readonly error: AllocationError; readonly quarantine: string };

/** Every transition: the states it leaves from, whether it ends the work (and its lease), its audit action. */
const transitions: { readonly [S in Phase['state']]: { readonly from: readonly AllocationState[]; readonly final: boolean; readonly action: string } } = {
  ready: { from: ['pending'], final: true, action: 'allocation.ready' },
  'rolling-back': { from: ['pending'], final: false, action: 'allocation.rollback' },
  'rolled-back': { from: ['rolling-back'], final: true, action: 'allocation.rollback' },
  released: { from: ['releasing'], final: true, action: 'allocation.release' },
  failed: { from: ['rolling-back', 'releasing'], final: true, action: 'allocation.failed' },
};

/** An undo that fails is tried this many times in all, waiting twice as long after each failure. */
const UNDO_ATTEMPTS = 4;
const UNDO_BACKOFF_MS = 250;

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new CausewayError('unavailable', `${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One replica's work on one allocation, under its lease: the steps forward, or the undos
 * in reverse. Every state change goes through `moveTo` and every step is written when it
 * starts and when it ends, each write a mutation with its audit event, fenced by the lease.
 */
export class AllocationRun {
  private readonly deps: RunDeps;
  private readonly audit: AuditContext;
  private readonly lease: LeaseKeeper;
  private allocation: Allocation;
  private routeRevision: number | undefined;

  constructor(deps: RunDeps, allocation: Allocation, audit: AuditContext) {
    this.deps = deps;
    this.allocation = allocation;
    this.audit = audit;
    this.lease = new LeaseKeeper(deps.sql, allocation.id, deps.owner, deps.settings.leaseMs, deps.log);
  }

  /** The steps in order; the allocation once ready. On a failure, rolls back and throws AllocationFailed with the original error. */
  async forward(): Promise<Allocation> {
    return this.finally(async () => {
      for (const step of forwardSteps) {
        const error = await this.runStep(step);
        if (error !== undefined) return this.rollBack(error);
      }
      await this.moveTo({ state: 'ready' });
      this.deps.metrics.allocations.inc({ outcome: 'ready' });
      return this.reload();
    });
  }

  /** Takes over work whose replica stopped: rolls a pending allocation back, finishes a rollback or a release. */
  async resume(previousOwner: string): Promise<Allocation> {
    return this.finally(async () => {
      const why = `controller "${previousOwner}" stopped while this ran`;
      await this.write('allocation.recover', [{ field: 'lease', before: previousOwner, after: this.deps.owner }], (m) => abandonRunningSteps(m, this.allocation.id, this.deps.owner, why));
      this.allocation = await this.reload();
      const { state } = this.allocation;
      if (state === 'pending') {
        return this.rollBack(new CausewayError('unavailable', `controller "${previousOwner}" stopped during the allocation; rolled back by "${this.deps.owner}"`));
      }
      const original = this.allocation.error === null ? undefined : storedError(this.allocation.error);
      return this.undoAll(state === 'releasing' ? 'released' : 'rolled-back', original);
    });
  }

  /** Undoes every step in reverse order (the allocation was taken for release). */
  async release(): Promise<Allocation> {
    return this.finally(() => this.undoAll('released', undefined));
  }

  private async finally<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof LeaseLost)) throw error;
      const message = `another replica took over allocation ${this.allocation.id} (this one lost its lease); read it again`;
      throw new AllocationFailed(new CausewayError('unavailable', message), await this.reload());
    } finally {
      this.lease.stop();
    }
  }

  private async reload(): Promise<Allocation> {
    const fresh = await getAllocation(this.deps.sql, this.allocation.org, this.allocation.id);
    if (fresh === undefined) throw new Error(`allocation ${this.allocation.id} vanished`);
    return fresh;
  }

  /** Runs one forward step; its error, if it failed. */
  private async runStep(step: StepName): Promise<CausewayError | undefined> {
    const seq = await this.begin(step, 'do');
    const started = performance.now();
    let done = false;
    try {
      const result = await stepActions[step].run(this.context(step, 'do', seq, 1));
      done = true;
      await this.afterStep(step, 'do', seq, result, 1);
      this.observe(step, 'do', 'done', started);
      failpoint(`allocation.after-${step}` as const);
      return undefined;
    } catch (error) {
      if (error instanceof LeaseLost) throw error;
      this.observe(step, 'do', 'failed', started);
      const original = CausewayError.from(error);
      if (original.code === 'internal') this.deps.log.error({ err: error, allocation: this.allocation.id, step }, 'allocation step failed');
      if (!done) await this.record(seq, step, 'do', { state: 'failed', attempts: 1, error: errorOf(error).message });
      return original;
    }
  }

  /** Rolls back after a failed step and throws the step's error. */
  private async rollBack(original: CausewayError): Promise<never> {
    await this.moveTo({ state: 'rolling-back', error: errorOf(original) });
    const allocation = await this.undoAll('rolled-back', original);
    throw new AllocationFailed(original, allocation);
  }

  /**
   * Runs what remains to undo, in reverse order. An undo that fails is retried with
   * backoff, and the others still run; one that never succeeds ends the allocation
   * `failed`, its gateway quarantined.
   */
  private async undoAll(end: 'rolled-back' | 'released', original: CausewayError | undefined): Promise<Allocation> {
    this.allocation = await this.reload();
    const failures: { step: StepName; error: CausewayError }[] = [];
    for (const step of undoPlan(this.allocation.steps)) {
      const error = await this.undo(step);
      if (error !== undefined) failures.push({ step, error });
    }
    const { id, tenant, gateway } = this.allocation;
    const first = failures[0];
    if (first === undefined) {
      await this.moveTo({ state: end });
      this.deps.metrics.allocations.inc({ outcome: end });
      if (end === 'rolled-back') this.deps.log.warn({ allocation: id, tenant, error: original?.message }, 'allocation rolled back');
      return this.reload();
    }
    const reason = failures.map((f) => `undo of ${f.step} failed: ${f.error.message}`).join('; ');
    await this.moveTo({ state: 'failed', error: errorOf(original ?? first.error), quarantine: reason.slice(0, 1_000) });
    this.deps.metrics.allocations.inc({ outcome: 'failed' });
    this.deps.log.error({ allocation: id, tenant, gateway, failed: failures.map((f) => f.step), reason }, 'allocation failed; gateway quarantined');
    return this.reload();
  }

  /** One undo with its retries; its last error if it never succeeded. */
  private async undo(step: StepName): Promise<CausewayError | undefined> {
    const action = stepActions[step].undo;
    if (action === undefined) return undefined;
    const seq = await this.begin(step, 'undo');
    const limitMs = Math.max(this.deps.settings.convergeTimeoutMs, this.deps.settings.handshakeTimeoutMs * 3) + 5_000;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        failpoint(`allocation.undo-${step}` as FailpointName);
        const result = await withTimeout(action(this.context(step, 'undo', seq, attempt)), limitMs, `the undo of ${step}`);
        await this.afterStep(step, 'undo', seq, result, attempt);
        this.observe(step, 'undo', 'done', started);
        return undefined;
      } catch (error) {
        if (error instanceof LeaseLost) throw error;
        this.observe(step, 'undo', 'failed', started);
        const last = attempt >= UNDO_ATTEMPTS;
        this.deps.log.warn({ err: error, allocation: this.allocation.id, step, attempt, last }, last ? 'allocation undo failed; giving up' : 'allocation undo failed; retrying');
        await this.record(seq, step, 'undo', { state: last ? 'failed' : 'running', attempts: attempt, error: errorOf(error).message });
        if (last) return CausewayError.from(error);
        this.deps.metrics.allocationUndoRetries.inc({ step });
        await sleep(UNDO_BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  }

  private context(step: StepName, direction: Direction, seq: number, attempts: number): StepContext {
    const { sql, owner, settings, health, handshake, watch } = this.deps;
    return {
      sql, owner, settings, health, handshake, watch,
      audit: this.audit,
      allocation: this.allocation,
      routeRevision: this.routeRevision,
      finish: async (m) => this.recordIn(m, seq, step, direction, { state: 'done', attempts }),
    };
  }

  private async afterStep(step: StepName, direction: Direction, seq: number, result: StepResult, attempts: number): Promise<void> {
    if (result.gateway !== undefined) this.allocation = { ...this.allocation, gateway: result.gateway, holdsGateway: true };
    if (result.revision !== undefined) this.routeRevision = result.revision;
    if (!result.recorded) await this.record(seq, step, direction, { state: 'done', attempts, detail: result.detail });
  }

  private observe(step: StepName, direction: Direction, outcome: 'done' | 'failed', started: number): void {
    this.deps.metrics.allocationStepSeconds.observe({ step, direction, outcome }, (performance.now() - started) / 1_000);
  }

  /** One mutation with its audit event, fenced by the lease inside `work`. */
  private async write<T>(action: string, changes: { field: string; before: unknown; after: unknown }[], work: (m: Mutation) => Promise<T>): Promise<T> {
    const { id, org } = this.allocation;
    const { result } = await mutate(this.deps.sql, this.audit, async (m) => {
      const value = await work(m);
      m.audit({ org, action, resourceKind: 'allocation', resourceName: id, changes });
      return value;
    });
    return result;
  }

  private async begin(step: StepName, direction: Direction): Promise<number> {
    return this.write('allocation.step', [{ field: `${direction} ${step}`, before: null, after: 'running' }], (m) => beginStep(m, this.allocation.id, this.deps.owner, step, direction));
  }

  private async record(seq: number, step: StepName, direction: Direction, outcome: StepOutcome): Promise<void> {
    await this.write('allocation.step', [{ field: `${direction} ${step}`, before: 'running', after: outcome.state }], (m) => recordStep(m, this.allocation.id, this.deps.owner, seq, outcome));
  }

  /** `record` inside a mutation that also makes the step's effect. */
  private async recordIn(m: Mutation, seq: number, step: StepName, direction: Direction, outcome: StepOutcome): Promise<void> {
    await recordStep(m, this.allocation.id, this.deps.owner, seq, outcome);
    m.audit({ org: this.allocation.org, action: 'allocation.step', resourceKind: 'allocation', resourceName: this.allocation.id, changes: [{ field: `${direction} ${step}`, before: 'running', after: outcome.state }] });
  }

  /** The one transition function: moves the allocation to `phase` if it is in a state that may. */
  private async moveTo(phase: Phase): Promise<void> {
    const { id, org, gateway, state } = this.allocation;
    const rule = transitions[phase.state];
    const error = 'error' in phase ? phase.error : undefined;
    const changes = [{ field: 'state', before: state, after: phase.state }, ...(error === undefined ? [] : [{ field: 'error', before: null, after: error }])];
    await this.write(rule.action, changes, async (m) => {
      const moved = await moveAllocation(m, id, this.deps.owner, rule.from, { to: phase.state, final: rule.final, ...(error === undefined ? {} : { error }) });
      if (!moved) throw new Error(`allocation ${id} cannot move from ${state} to ${phase.state}`);
      if (gateway === null) return;
      if (phase.state === 'failed') await quarantineGateway(m, org, gateway, id, phase.quarantine);
      if (phase.state === 'released') await liftQuarantine(m, org, gateway, id);
    });
    this.allocation = { ...this.allocation, state: phase.state, ...(error === undefined ? {} : { error }) };
  }
}
