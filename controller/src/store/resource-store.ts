import { isDeepStrictEqual } from 'node:util';
import { CausewayError } from '@causeway/shared';
import { fieldChanges } from '../access/field-changes.ts';
import { pgCode, pgCodes, type Sql, type Tx } from './database.ts';
import { mutate, type AuditContext, type Mutation } from './mutate.ts';
import { apisUsing, refuseDeletingAllocatedPool } from './pool-usage.ts';
import { checkReferences } from './check-references.ts';
import type { Kind, Labels, PoolSpec, SpecByKind, StoredRecord, ZoneSpec } from './records.ts';
import { tables, type NamePage } from './tables.ts';
import { refuseDeletingFailoverZone, refuseEmptyingUsedPool, refuseEmptyingUsedPools } from './references.ts';
import { checkBatchRoutes, checkBatchRoutesAgainstStore } from './route-conflicts.ts';
import { inItem, what, type PutItem } from './write-items.ts';

export type { PutItem } from './write-items.ts';

export interface PutResult<K extends Kind> {
  readonly record: StoredRecord<K>;
  readonly created: boolean;
  /** False when the resource already had this exact spec and labels: nothing was written. */
  readonly changed: boolean;
}

export interface WriteOptions {
  /** Expected current revision (from an ETag); a mismatch answers 412. */
  readonly ifMatch?: number;
  /** More work in the same transaction, after the write (e.g. recording a deployment). */
  readonly alsoDo?: (m: Mutation, previous: StoredRecord | undefined) => Promise<void>;
  /**
   * `?force=true`: the operator means it. Allows deleting a zone that APIs fail over to and
   * leaving a pool that APIs use without members (every request to them is then a 503).
   */
  readonly force?: boolean;
  /** The audit action's verb instead of create, update or delete (`api.rollback`). */
  readonly action?: string;
}

/** Writes of one many-resource write in flight at once on its connection. */
const PIPELINED_WRITES = 64;


/** Thrown inside a mutation to roll it back when a write would change nothing. */
class Unchanged<T> {
  readonly record: T;
  constructor(record: T) {
    this.record = record;
  }
}

export function notFound(kind: Kind, name: string): CausewayError {
  return new CausewayError('not_found', `${what[kind]} "${name}" does not exist`);
}

function checkIfMatch(kind: Kind, name: string, current: StoredRecord | undefined, options: WriteOptions): void {
  if (options.ifMatch === undefined) return;
  const actual = current?.revision;
  if (actual !== options.ifMatch) {
    throw new CausewayError(
      'precondition_failed',
      `${what[kind]} "${name}" is at revision ${actual ?? 'none (it does not exist)'}, not ${options.ifMatch} (If-Match); read it again and retry`,
    );
  }
}

/** One org, and who acts in it: every read and write of a store handle is scoped by it. */
export interface Scope {
  readonly org: string;
  readonly audit: AuditContext;
}

/** How each kind is named in audit events (`gateway-pool.create`). */
const auditKindOf: Readonly<Record<Kind, string>> = {
  Api: 'api',
  Consumer: 'consumer',
  Gateway: 'gateway',
  GatewayPool: 'gateway-pool',
  Zone: 'zone',
};

function documentOf(record: { labels: Labels; spec: unknown } | undefined): unknown {
  return record === undefined ? undefined : { metadata: { labels: record.labels }, spec: record.spec };
}

/**
 * Reads and writes the declarative resources of one org, every write through `mutate`
 * with an audit event. A handle is made for one scope and cannot name another org.
 */
export class ResourceStore {
  private readonly sql: Sql;
  private readonly scope: Scope;
  private readonly org: string;

  constructor(sql: Sql, scope: Scope) {
    this.sql = sql;
    this.scope = scope;
    this.org = scope.org;
  }

  get orgName(): string {
    return this.org;
  }

  get auditContext(): AuditContext {
    return this.scope.audit;
  }

  async get<K extends Kind>(kind: K, name: string): Promise<StoredRecord<K> | undefined> {
    return tables[kind].get(this.sql, this.org, name) as Promise<StoredRecord<K> | undefined>;
  }

  /** By name: all, or one page. */
  async list<K extends Kind>(kind: K, page?: NamePage): Promise<StoredRecord<K>[]> {
    return tables[kind].list(this.sql, this.org, page) as Promise<StoredRecord<K>[]>;
  }

  async put<K extends Kind>(
    kind: K,
    name: string,
    labels: Labels,
    spec: SpecByKind[K],
    options: WriteOptions = {},
  ): Promise<PutResult<K>> {
    try {
      const { result } = await mutate(this.sql, this.scope.audit, async (m) => {
        const written = await this.write(m, kind, name, labels, spec, options);
        // Nothing to write: roll back, so that no revision is taken.
        if (!written.changed) throw new Unchanged(written.record);
        return written;
      });
      return result;
    } catch (error) {
      if (error instanceof Unchanged) return { record: error.record as StoredRecord<K>, created: false, changed: false };
      throw classifyWriteError(error);
    }
  }

  /**
   * Creates or updates many resources as one mutation: one revision, all or nothing.
   * Items are written in the order given (what a resource names must come before it).
   * An item that fails fails the whole write, with its index in the error's message and
   * field paths. When no item changes anything, no revision is taken (`revision` undefined);
   * nor with `dryRun`, which writes nothing.
   */
  async putMany(items: readonly PutItem[], options: Pick<WriteOptions, 'force'> & { readonly dryRun?: boolean } = {}): Promise<{ revision: number | undefined; results: PutResult<Kind>[] }> {
    const org = this.org;
    try {
      checkBatchRoutes(items);
      const { result, revision } = await mutate(this.sql, this.scope.audit, async (m) => {
        // The tables grow during the write; a plan cached while they were small (a scan
        // instead of an index) would make every statement slower than the last.
        await m.tx`SET LOCAL plan_cache_mode = force_custom_plan`;
        await checkBatchRoutesAgainstStore(m.tx, org, items);
        const results: PutResult<Kind>[] = [];
        // Items of one kind do not depend on each other: their queries are sent without
        // waiting for each answer (pipelined on the transaction's connection). Kinds go
        // one after the other, so what an item names is written before it.
        for (let start = 0; start < items.length; ) {
          let end = start + 1;
          while (end < items.length && end - start < PIPELINED_WRITES && items[end]?.kind === items[start]?.kind) end++;
          // Every write of the slice settles before a failure is thrown, so that none of
          // them runs a statement after the transaction was rolled back.
          const settled = await Promise.allSettled(
            items.slice(start, end).map((item) => this.write(m, item.kind, item.name, item.labels, item.spec, { ...options, routesChecked: true })),
          );
          const failures = settled.flatMap((r, i) => (r.status === 'rejected' ? [{ i: start + i, error: r.reason as unknown }] : []));
          // The statement that failed first, not those refused after it (the transaction was aborted).
          const failure = failures.find((f) => pgCode(f.error) !== pgCodes.inFailedTransaction) ?? failures[0];
          if (failure !== undefined) {
            const item = items[failure.i] as PutItem;
            throw inItem(item.index ?? failure.i, item, classifyWriteError(failure.error));
          }
          for (const r of settled) if (r.status === 'fulfilled') results.push(r.value);
          start = end;
        }
        // A dry run makes every check a write would, then rolls back: what the answer says
        // would change is what the server would store, defaults and normalisation included.
        if (options.dryRun === true || results.every((r) => !r.changed)) throw new Unchanged(results);
        return results;
      });
      return { revision, results: result };
    } catch (error) {
      if (error instanceof Unchanged) return { revision: undefined, results: error.record as PutResult<Kind>[] };
      throw classifyWriteError(error);
    }
  }

  private async write<K extends Kind>(
    m: Mutation,
    kind: K,
    name: string,
    labels: Labels,
    spec: SpecByKind[K],
    options: WriteOptions & { readonly routesChecked?: boolean },
  ): Promise<PutResult<K>> {
    const { org } = this;
    const table = tables[kind];
    const current = (await table.get(m.tx, org, name, true)) as StoredRecord<K> | undefined;
    checkIfMatch(kind, name, current, options);
    if (current !== undefined && isDeepStrictEqual(current.labels, labels) && isDeepStrictEqual(current.spec, spec)) {
      return { record: current, created: false, changed: false };
    }
    await checkReferences(m.tx, kind, org, name, spec, options.routesChecked === true);
    if (kind === 'GatewayPool' && (spec as PoolSpec).members.length === 0 && options.force !== true) await refuseEmptyingUsedPool(m.tx, org, name);
    if (kind === 'Zone' && !(spec as ZoneSpec).failoverEligible && options.force !== true) await refuseDeletingFailoverZone(m.tx, name, 'update it');
    await table.write(m, org, name, labels, spec);
    await this.recordDependents(m, kind, org, name);
    m.record({ kind, org, name, op: 'upsert' });
    m.audit({
      org,
      action: `${auditKindOf[kind]}.${options.action ?? (current === undefined ? 'create' : 'update')}`,
      resourceKind: auditKindOf[kind],
      resourceName: name,
      changes: fieldChanges(documentOf(current), documentOf({ labels, spec })),
    });
    await options.alsoDo?.(m, current);
    const record = (await table.get(m.tx, org, name)) as StoredRecord<K>;
    return { record, created: current === undefined, changed: true };
  }

  async delete(kind: Kind, name: string, options: WriteOptions = {}): Promise<number> {
    const { org } = this;
    try {
      const { revision } = await mutate(this.sql, this.scope.audit, async (m) => {
        const table = tables[kind];
        const current = await table.get(m.tx, org, name, true);
        if (current === undefined) throw notFound(kind, name);
        checkIfMatch(kind, name, current, options);
        await this.checkNotInUse(m.tx, kind, org, name, options.force === true);
        await this.recordDependents(m, kind, org, name);
        await table.remove(m.tx, org, name);
        m.record({ kind, org, name, op: 'delete' });
        m.audit({ org, action: `${auditKindOf[kind]}.${options.action ?? 'delete'}`, resourceKind: auditKindOf[kind], resourceName: name, changes: fieldChanges(documentOf(current), undefined) });
        await options.alsoDo?.(m, current);
      });
      return revision;
    } catch (error) {
      throw classifyWriteError(error);
    }
  }

  private async checkNotInUse(tx: Tx, kind: Kind, org: string, name: string, force: boolean): Promise<void> {
    if (kind === 'Zone' && !force) await refuseDeletingFailoverZone(tx, name);
    if (kind === 'Gateway' && !force) await refuseEmptyingUsedPools(tx, org, name);
    if (kind !== 'Gateway' && kind !== 'GatewayPool') return;
    if (kind === 'GatewayPool') await refuseDeletingAllocatedPool(tx, org, name);
    const users = await apisUsing(tx, kind, org, name);
    if (users.length > 0) {
      throw new CausewayError(
        'conflict',
        `${what[kind]} "${name}" is still used by ${users.length === 1 ? 'API' : 'APIs'} ${users.map((u) => `"${u}"`).join(', ')}; change or delete them first`,
      );
    }
  }

  private async recordDependents(m: Mutation, kind: Kind, org: string, name: string): Promise<void> {
    if (kind === 'Gateway') await recordPoolsOfGateway(m, org, name);
  }
}

/**
 * A gateway's URL, zone and health are part of every pool it belongs to: those pools
 * change too (new revision, logged), so runtimes get the new clusters.
 */
export async function recordPoolsOfGateway(m: Mutation, org: string, gateway: string): Promise<void> {
  const pools = await m.tx<{ name: string }[]>`
    UPDATE gateway_pools p SET revision = ${m.revision}, updated_at = now()
    FROM gateway_pool_members gm
    WHERE gm.org_id = ${org} AND gm.gateway_name = ${gateway} AND p.org_id = gm.org_id AND p.name = gm.pool_name
    RETURNING p.name`;
  for (const pool of pools) m.record({ kind: 'GatewayPool', org, name: pool.name, op: 'upsert' });
}

/** The database is the last line of defence against races: map its refusals to answers. */
function classifyWriteError(error: unknown): unknown {
  if (error instanceof CausewayError) return error;
  const code = pgCode(error);
  if (code === pgCodes.foreignKeyViolation) {
    return new CausewayError('conflict', 'the resource is referenced by another resource, or references one that no longer exists', { cause: error });
  }
  if (code === pgCodes.uniqueViolation) {
    return new CausewayError('conflict', 'a concurrent write created the same resource; retry', { cause: error });
  }
  return error;
}
