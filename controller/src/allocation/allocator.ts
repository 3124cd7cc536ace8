import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CausewayError, type Logger } from '@causeway/shared';
import { fieldChanges } from '../access/field-changes.ts';
import { StatusWatch } from '../deployment/status-watch.ts';
import type { ControllerMetrics } from '../metrics.ts';
import {
  claimExpired,
  findAllocationFor,
  getAllocation,
  inProgressStates,
  insertAllocation,
  takeForRelease,
  type Allocation,
} from '../store/allocations.ts';
import { pgCode, pgCodes, type Sql } from '../store/database.ts';
import type { HealthSettings } from '../store/gateway-health.ts';
import { mutate, systemAudit } from '../store/mutate.ts';
import type { Scope } from '../store/resource-store.ts';
import { listenForRuntimeStatus } from '../store/runtime-status.ts';
import { AllocationFailed, storedError } from './allocation-failed.ts';
import { AllocationRun, type RunDeps } from './allocation-run.ts';
import type { AllocationSettings } from './allocation-steps.ts';
import { HandshakeClient } from './handshake-client.ts';

export interface AllocatorOptions {
  readonly sql: Sql;
  readonly controllerId: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly settings: AllocationSettings;
  readonly health: HealthSettings;
}

/** Runtime status announcements wake a waiting converge step; without one it looks again this often. */
const STATUS_POLL_MS = 1_000;
/** How often a request for an allocation another one is working on looks whether it is done. */
const SETTLE_POLL_MS = 100;
/** Expired leases taken over per chores tick. */
const RECOVER_BATCH = 20;

function notFound(id: string): CausewayError {
  return new CausewayError('not_found', `allocation "${id}" does not exist`);
}

/**
 * Dedicated gateway allocations (docs/admin-api.md, "Allocations"): creates them and runs
 * their steps, releases them, and takes over those whose replica died. The work of each
 * is an AllocationRun under a lease; this replica's runs are awaited on close.
 */
export class Allocator {
  private readonly deps: RunDeps;
  private readonly running = new Set<Promise<unknown>>();
  private unlisten: (() => Promise<void>) | undefined;

  constructor(options: AllocatorOptions) {
    const watch = new StatusWatch(STATUS_POLL_MS);
    this.deps = {
      sql: options.sql,
      owner: options.controllerId,
      log: options.log,
      metrics: options.metrics,
      settings: options.settings,
      health: options.health,
      handshake: new HandshakeClient(options.settings.handshakeTimeoutMs),
      watch,
    };
  }

  async start(): Promise<void> {
    this.unlisten = await listenForRuntimeStatus(this.deps.sql, () => this.deps.watch.changed());
  }

  /** Lets this replica's runs finish (a run cut short would be taken over once its lease ran out). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.running]);
    await this.unlisten?.().catch(() => undefined);
    this.unlisten = undefined;
    await this.deps.handshake.close();
  }

  get(org: string, id: string): Promise<Allocation | undefined> {
    return getAllocation(this.deps.sql, org, id);
  }

  /**
   * The tenant's allocation in the pool: a new one (`created`), or the one it has, or the
   * one the idempotency key made. A failed one answers with its error (AllocationFailed).
   */
  async allocate(scope: Scope, pool: string, tenant: string, key: string | null): Promise<{ allocation: Allocation; created: boolean }> {
    const { sql, owner, settings } = this.deps;
    const existing = await findAllocationFor(sql, scope.org, pool, tenant, key);
    if (existing !== undefined) return this.existing(existing, pool, tenant);
    const id = `alc_${randomBytes(8).toString('hex')}`;
    const host = `${tenant}.${settings.tenantDomain}`;
    try {
      await mutate(sql, scope.audit, async (m) => {
        await insertAllocation(m, { id, org: scope.org, pool, tenant, idempotencyKey: key, host, api: id.replace('_', '-'), owner, leaseMs: settings.leaseMs });
        m.audit({ org: scope.org, action: 'allocation.create', resourceKind: 'allocation', resourceName: id, changes: fieldChanges(undefined, { pool, tenant, host, state: 'pending' }) });
      });
    } catch (error) {
      if (pgCode(error) === pgCodes.foreignKeyViolation) throw new CausewayError('not_found', `gateway pool "${pool}" does not exist`);
      if (pgCode(error) !== pgCodes.uniqueViolation) throw error;
      // The same tenant (or key) at the same time, through this replica or another: one wins.
      const winner = await findAllocationFor(sql, scope.org, pool, tenant, key);
      if (winner === undefined) throw new CausewayError('conflict', 'a concurrent request for the same allocation changed it; retry', { cause: error });
      return this.existing(winner, pool, tenant);
    }
    const allocation = await getAllocation(sql, scope.org, id);
    if (allocation === undefined) throw notFound(id);
    const run = new AllocationRun(this.deps, allocation, scope.audit);
    return { allocation: await this.track(run.forward()), created: true };
  }

  /** Undoes the steps of a ready (or failed) allocation in reverse; the gateway goes back to the pool. */
  async release(scope: Scope, id: string): Promise<Allocation> {
    const { sql, owner, settings } = this.deps;
    const current = await this.settled(scope.org, id);
    if (current.state === 'released' || current.state === 'rolled-back') return current;
    const taken = await mutate(sql, scope.audit, async (m) => {
      const ok = await takeForRelease(m, scope.org, id, owner, settings.leaseMs);
      m.audit({ org: scope.org, action: 'allocation.release', resourceKind: 'allocation', resourceName: id, changes: [{ field: 'state', before: current.state, after: 'releasing' }] });
      if (!ok) throw new CausewayError('conflict', `allocation ${id} changed meanwhile`);
      return ok;
    }).catch((error: unknown) => {
      if (error instanceof CausewayError && error.code === 'conflict') return undefined;
      throw error;
    });
    // Someone else took it first: answer with what they made of it.
    if (taken === undefined) return this.settled(scope.org, id);
    const allocation = await getAllocation(sql, scope.org, id);
    if (allocation === undefined) throw notFound(id);
    return this.track(new AllocationRun(this.deps, allocation, scope.audit).release());
  }

  /** Chores: takes over in-progress allocations whose lease expired and finishes them in the background. */
  async recoverExpired(): Promise<number> {
    const { sql, owner, settings, log, metrics } = this.deps;
    const claimed = await claimExpired(sql, owner, settings.leaseMs, RECOVER_BATCH);
    for (const { id, org, previousOwner } of claimed) {
      const work = async (): Promise<void> => {
        const allocation = await getAllocation(sql, org, id);
        if (allocation === undefined) return;
        metrics.allocationRecoveries.inc({ state: allocation.state });
        log.warn({ allocation: id, state: allocation.state, previousOwner }, 'taking over an allocation whose replica stopped');
        const done = await new AllocationRun(this.deps, allocation, systemAudit(owner)).resume(previousOwner).catch((error: unknown) => {
          if (error instanceof AllocationFailed) return error.allocation;
          throw error;
        });
        log.info({ allocation: id, state: done.state }, 'allocation taken over and finished');
      };
      void this.track(work()).catch((error: unknown) => log.warn({ err: error, allocation: id }, 'taking over an allocation failed; retried once its lease runs out'));
    }
    return claimed.length;
  }

  private async existing(allocation: Allocation, pool: string, tenant: string): Promise<{ allocation: Allocation; created: boolean }> {
    if (allocation.pool !== pool || allocation.tenant !== tenant) {
      throw new CausewayError('conflict', `idempotency key "${allocation.idempotencyKey ?? ''}" was used for tenant "${allocation.tenant}" in pool "${allocation.pool}"`);
    }
    const settled = await this.settled(allocation.org, allocation.id);
    if ((settled.state === 'rolled-back' || settled.state === 'failed') && settled.error !== null) throw new AllocationFailed(storedError(settled.error), settled);
    return { allocation: settled, created: false };
  }

  /** The allocation once no replica is working on it (or 503 when that takes too long). */
  private async settled(org: string, id: string): Promise<Allocation> {
    const { convergeTimeoutMs, handshakeTimeoutMs, leaseMs } = this.deps.settings;
    // A run's longest: converging, a handshake, then the undos (a dead replica's taken over after its lease).
    const deadline = Date.now() + 2 * convergeTimeoutMs + 4 * handshakeTimeoutMs + 2 * leaseMs + 10_000;
    for (;;) {
      const allocation = await getAllocation(this.deps.sql, org, id);
      if (allocation === undefined) throw notFound(id);
      if (!inProgressStates.includes(allocation.state)) return allocation;
      if (Date.now() >= deadline) throw new AllocationFailed(new CausewayError('unavailable', `allocation ${id} is still ${allocation.state}; read it again later`), allocation);
      await sleep(SETTLE_POLL_MS);
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    const forget = (): void => void this.running.delete(work);
    work.then(forget, forget);
    return work;
  }
}
