import type { Sql, Tx } from './database.ts';
import { EXACT_INSTANT, type ListPosition } from './list-position.ts';
import type { Mutation } from './mutate.ts';

/*
 * Allocations and their step log (migration 010). State transitions and step records are
 * written inside mutations (each with its audit event) and fenced by the lease: a write of
 * a replica that no longer holds the lease changes nothing and throws LeaseLost. The lease
 * itself (claiming, renewing) is bookkeeping like a runtime's heartbeat, written directly.
 */

export const allocationStates = ['pending', 'ready', 'rolling-back', 'rolled-back', 'releasing', 'released', 'failed'] as const;
export type AllocationState = (typeof allocationStates)[number];
/** States in which a replica is working on the allocation, under a lease. */
export const inProgressStates: readonly AllocationState[] = ['pending', 'rolling-back', 'releasing'];

export const stepNames = ['reserve', 'route', 'converge', 'handshake'] as const;
export type StepName = (typeof stepNames)[number];
export type Direction = 'do' | 'undo';
export type StepState = 'running' | 'done' | 'failed';

export interface StepRecord {
  readonly seq: number;
  readonly step: StepName;
  readonly direction: Direction;
  readonly state: StepState;
  readonly attempts: number;
  readonly controller: string;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly error: string | null;
  readonly detail: string | null;
}

export interface AllocationError {
  readonly code: string;
  readonly message: string;
}

export interface Allocation {
  readonly id: string;
  readonly org: string;
  readonly pool: string;
  readonly tenant: string;
  readonly idempotencyKey: string | null;
  readonly host: string;
  readonly api: string;
  readonly gateway: string | null;
  readonly holdsGateway: boolean;
  readonly state: AllocationState;
  readonly error: AllocationError | null;
  readonly leaseOwner: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly finishedAt: Date | null;
  readonly steps: readonly StepRecord[];
}

/** A write of a replica whose lease was taken over: it must stop, the new holder carries on. */
export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
  constructor(id: string, owner: string) {
    super(`controller "${owner}" no longer holds the lease of allocation ${id}`);
  }
}

interface AllocationRow {
  id: string;
  org_id: string;
  pool_name: string;
  tenant: string;
  idempotency_key: string | null;
  host: string;
  api_name: string;
  gateway_name: string | null;
  holds_gateway: boolean;
  state: AllocationState;
  error_code: string | null;
  error_message: string | null;
  lease_owner: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

interface StepRow {
  allocation_id: string;
  seq: number;
  step: StepName;
  direction: Direction;
  state: StepState;
  attempts: number;
  controller_id: string;
  started_at: Date;
  finished_at: Date | null;
  error: string | null;
  detail: string | null;
}

function toStep(row: StepRow): StepRecord {
  return {
    seq: row.seq,
    step: row.step,
    direction: row.direction,
    state: row.state,
    attempts: row.attempts,
    controller: row.controller_id,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error,
    detail: row.detail,
  };
}

function toAllocation(row: AllocationRow, steps: readonly StepRecord[]): Allocation {
  return {
    id: row.id,
    org: row.org_id,
    pool: row.pool_name,
    tenant: row.tenant,
    idempotencyKey: row.idempotency_key,
    host: row.host,
    api: row.api_name,
    gateway: row.gateway_name,
    holdsGateway: row.holds_gateway,
    state: row.state,
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    leaseOwner: row.lease_owner,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    steps,
  };
}

type Db = Sql | Tx;

async function withSteps(db: Db, rows: readonly AllocationRow[]): Promise<Allocation[]> {
  if (rows.length === 0) return [];
  const steps = await db<StepRow[]>`
    SELECT * FROM allocation_steps WHERE allocation_id = ANY(${rows.map((r) => r.id)}::text[]) ORDER BY allocation_id, seq`;
  const byId = new Map<string, StepRecord[]>();
  for (const step of steps) byId.set(step.allocation_id, [...(byId.get(step.allocation_id) ?? []), toStep(step)]);
  return rows.map((row) => toAllocation(row, byId.get(row.id) ?? []));
}

export interface NewAllocation {
  readonly id: string;
  readonly org: string;
  readonly pool: string;
  readonly tenant: string;
  readonly idempotencyKey: string | null;
  readonly host: string;
  readonly api: string;
  readonly owner: string;
  readonly leaseMs: number;
}

/** Inserts a pending allocation leased to its creator; a unique index refuses a second live one (23505). */
export async function insertAllocation(m: Mutation, a: NewAllocation): Promise<void> {
  await m.tx`
    INSERT INTO allocations (id, org_id, pool_name, tenant, idempotency_key, host, api_name, state, lease_owner, lease_expires_at)
    VALUES (${a.id}, ${a.org}, ${a.pool}, ${a.tenant}, ${a.idempotencyKey}, ${a.host}, ${a.api}, 'pending',
            ${a.owner}, now() + ${`${a.leaseMs} milliseconds`}::interval)`;
}

export async function getAllocation(db: Db, org: string, id: string): Promise<Allocation | undefined> {
  const rows = await db<AllocationRow[]>`SELECT * FROM allocations WHERE org_id = ${org} AND id = ${id}`;
  return (await withSteps(db, rows))[0];
}

/** The allocation an idempotency key made, else the tenant's live one in the pool. */
export async function findAllocationFor(db: Db, org: string, pool: string, tenant: string, key: string | null): Promise<Allocation | undefined> {
  const byKey = key === null ? [] : await db<AllocationRow[]>`SELECT * FROM allocations WHERE org_id = ${org} AND idempotency_key = ${key}`;
  const rows = byKey.length > 0 ? byKey : await db<AllocationRow[]>`
    SELECT * FROM allocations WHERE org_id = ${org} AND pool_name = ${pool} AND tenant = ${tenant}
      AND state IN ('pending', 'ready', 'rolling-back', 'releasing', 'failed')`;
  return (await withSteps(db, rows))[0];
}

export interface AllocationFilter {
  readonly pool?: string;
  readonly state?: AllocationState;
  readonly tenant?: string;
  /** The cursor: the last allocation of the previous page. */
  readonly before?: ListPosition<string>;
}

/** Newest first, one page of `limit`, and where the next one starts when there is one. */
export async function listAllocations(db: Db, org: string, filter: AllocationFilter, limit: number): Promise<{ items: Allocation[]; next: ListPosition<string> | undefined }> {
  // The cursor's time goes in as text: a timestamp parameter would pass through a Date and lose its microseconds.
  const before = filter.before;
  const rows = await db<(AllocationRow & { created_exact: string })[]>`
    SELECT *, to_char(created_at AT TIME ZONE 'UTC', ${EXACT_INSTANT}) AS created_exact FROM allocations WHERE org_id = ${org}
      ${filter.pool === undefined ? db`` : db`AND pool_name = ${filter.pool}`}
      ${filter.state === undefined ? db`` : db`AND state = ${filter.state}`}
      ${filter.tenant === undefined ? db`` : db`AND tenant = ${filter.tenant}`}
      ${before === undefined ? db`` : db`AND (created_at, id) < (${before.at}::text::timestamptz, ${before.id})`}
    ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}`;
  // One more than the page: a next page exists only when it came back.
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: await withSteps(db, page), next: rows.length > limit && last !== undefined ? { at: last.created_exact, id: last.id } : undefined };
}

/** Fails the mutation unless `owner` holds the allocation's lease (and locks its row). */
async function fence(m: Mutation, id: string, owner: string): Promise<AllocationRow> {
  const [row] = await m.tx<AllocationRow[]>`SELECT * FROM allocations WHERE id = ${id} AND lease_owner = ${owner} FOR UPDATE`;
  if (row === undefined) throw new LeaseLost(id, owner);
  return row;
}

/** Records that a step starts (before it runs); its sequence number. */
export async function beginStep(m: Mutation, id: string, owner: string, step: StepName, direction: Direction): Promise<number> {
  await fence(m, id, owner);
  const [row] = await m.tx<{ seq: number }[]>`
    INSERT INTO allocation_steps (allocation_id, seq, step, direction, state, attempts, controller_id)
    SELECT ${id}, COALESCE(max(seq), 0) + 1, ${step}, ${direction}, 'running', 0, ${owner} FROM allocation_steps WHERE allocation_id = ${id}
    RETURNING seq`;
  if (row === undefined) throw new Error('step was not recorded');
  return row.seq;
}

export interface StepOutcome {
  readonly state: StepState;
  readonly attempts: number;
  readonly error?: string | undefined;
  readonly detail?: string | undefined;
}

/** Records how a step went (after it ran, or after a failed attempt of an undo, still running). */
export async function recordStep(m: Mutation, id: string, owner: string, seq: number, outcome: StepOutcome): Promise<void> {
  await fence(m, id, owner);
  await m.tx`
    UPDATE allocation_steps SET state = ${outcome.state}, attempts = ${outcome.attempts}, error = ${outcome.error ?? null},
           detail = ${outcome.detail ?? null}, finished_at = ${outcome.state === 'running' ? null : m.tx`now()`}
    WHERE allocation_id = ${id} AND seq = ${seq}`;
}

/** Steps still `running` whose replica stopped: failed, so the log says what became of them. */
export async function abandonRunningSteps(m: Mutation, id: string, owner: string, why: string): Promise<number> {
  await fence(m, id, owner);
  const result = await m.tx`
    UPDATE allocation_steps SET state = 'failed', error = ${why}, finished_at = now() WHERE allocation_id = ${id} AND state = 'running'`;
  return result.count;
}

/** The reservation: the gateway is this allocation's (23505 if another allocation holds it). */
export async function holdGateway(m: Mutation, id: string, owner: string, gateway: string | null): Promise<void> {
  await fence(m, id, owner);
  await m.tx`UPDATE allocations SET gateway_name = COALESCE(${gateway}, gateway_name), holds_gateway = ${gateway !== null}, updated_at = now() WHERE id = ${id}`;
}

export interface StateChange {
  readonly to: AllocationState;
  readonly error?: AllocationError | null;
  /** An end state gives the lease up. */
  readonly final: boolean;
}

/** Moves the allocation from one of `from` to `change.to`; false when it was in another state. */
export async function moveAllocation(m: Mutation, id: string, owner: string, from: readonly AllocationState[], change: StateChange): Promise<boolean> {
  const row = await fence(m, id, owner);
  if (!from.includes(row.state)) return false;
  const error = change.error === undefined ? m.tx`` : m.tx`, error_code = ${change.error?.code ?? null}, error_message = ${change.error?.message ?? null}`;
  const lease = change.final ? m.tx`, lease_owner = NULL, lease_expires_at = NULL, finished_at = now()` : m.tx``;
  await m.tx`UPDATE allocations SET state = ${change.to}, updated_at = now() ${error} ${lease} WHERE id = ${id}`;
  return true;
}

/** Takes a ready or failed allocation for release, with a lease; false when it is in another state. */
export async function takeForRelease(m: Mutation, org: string, id: string, owner: string, leaseMs: number): Promise<boolean> {
  const result = await m.tx`
    UPDATE allocations SET state = 'releasing', lease_owner = ${owner}, lease_expires_at = now() + ${`${leaseMs} milliseconds`}::interval,
           finished_at = NULL, updated_at = now()
    WHERE org_id = ${org} AND id = ${id} AND state IN ('ready', 'failed')`;
  return result.count === 1;
}

/** Extends the lease; false when another replica holds it now. */
export async function renewLease(sql: Sql, id: string, owner: string, leaseMs: number): Promise<boolean> {
  const result = await sql`
    UPDATE allocations SET lease_expires_at = now() + ${`${leaseMs} milliseconds`}::interval
    WHERE id = ${id} AND lease_owner = ${owner} AND state IN ('pending', 'rolling-back', 'releasing')`;
  return result.count === 1;
}

/** Takes over in-progress allocations whose lease expired (their replica died): every org's. */
export async function claimExpired(sql: Sql, owner: string, leaseMs: number, limit: number): Promise<{ id: string; org: string; previousOwner: string }[]> {
  const rows = await sql<{ id: string; org_id: string; previous: string }[]>`
    WITH expired AS (
      SELECT id, lease_owner AS previous FROM allocations
      WHERE state IN ('pending', 'rolling-back', 'releasing') AND lease_expires_at < now()
      ORDER BY lease_expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    UPDATE allocations a SET lease_owner = ${owner}, lease_expires_at = now() + ${`${leaseMs} milliseconds`}::interval
    FROM expired e WHERE a.id = e.id
    RETURNING a.id, a.org_id, e.previous`;
  return rows.map((r) => ({ id: r.id, org: r.org_id, previousOwner: r.previous }));
}
