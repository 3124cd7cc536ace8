import { isDeepStrictEqual } from 'node:util';
import { CausewayError } from '@causeway/shared';
import { pgCode, pgCodes, type Sql, type Tx } from './database.ts';
import { mutate, type Mutation } from './mutate.ts';
import type { ApiSpec, Kind, Labels, PoolSpec, SpecByKind, StoredRecord } from './records.ts';
import { tables } from './tables.ts';

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
}

/** Thrown inside a mutation to roll it back when a PUT would change nothing. */
class Unchanged<K extends Kind> {
  readonly record: StoredRecord<K>;
  constructor(record: StoredRecord<K>) {
    this.record = record;
  }
}

const what: Readonly<Record<Kind, string>> = {
  Api: 'API',
  Gateway: 'gateway',
  GatewayPool: 'gateway pool',
  Zone: 'zone',
};

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

/** Reads and writes the declarative resources, every write through `mutate`. */
export class ResourceStore {
  private readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
  }

  async get<K extends Kind>(kind: K, org: string, name: string): Promise<StoredRecord<K> | undefined> {
    return tables[kind].get(this.sql, org, name) as Promise<StoredRecord<K> | undefined>;
  }

  async list<K extends Kind>(kind: K, org: string): Promise<StoredRecord<K>[]> {
    return tables[kind].list(this.sql, org) as Promise<StoredRecord<K>[]>;
  }

  async put<K extends Kind>(
    kind: K,
    org: string,
    name: string,
    labels: Labels,
    spec: SpecByKind[K],
    options: WriteOptions = {},
  ): Promise<PutResult<K>> {
    try {
      const { result } = await mutate(this.sql, async (m) => {
        const table = tables[kind];
        const current = (await table.get(m.tx, org, name, true)) as StoredRecord<K> | undefined;
        checkIfMatch(kind, name, current, options);
        if (current !== undefined && isDeepStrictEqual(current.labels, labels) && isDeepStrictEqual(current.spec, spec)) {
          throw new Unchanged(current);
        }
        await this.checkReferences(m.tx, kind, org, name, spec);
        await table.write(m, org, name, labels, spec);
        await this.recordDependents(m, kind, org, name);
        m.record({ kind, org, name, op: 'upsert' });
        await options.alsoDo?.(m, current);
        const record = (await table.get(m.tx, org, name)) as StoredRecord<K>;
        return { record, created: current === undefined, changed: true };
      });
      return result;
    } catch (error) {
      if (error instanceof Unchanged) return { record: error.record as StoredRecord<K>, created: false, changed: false };
      throw classifyWriteError(error);
    }
  }

  async delete(kind: Kind, org: string, name: string, options: WriteOptions = {}): Promise<number> {
    try {
      const { revision } = await mutate(this.sql, async (m) => {
        const table = tables[kind];
        const current = await table.get(m.tx, org, name, true);
        if (current === undefined) throw notFound(kind, name);
        checkIfMatch(kind, name, current, options);
        await this.checkNotInUse(m.tx, kind, org, name);
        await this.recordDependents(m, kind, org, name);
        await table.remove(m.tx, org, name);
        m.record({ kind, org, name, op: 'delete' });
        await options.alsoDo?.(m, current);
      });
      return revision;
    } catch (error) {
      throw classifyWriteError(error);
    }
  }

  /** Names of the APIs whose upstream is this gateway or pool. */
  async apisUsing(tx: Tx | Sql, kind: 'Gateway' | 'GatewayPool', org: string, name: string): Promise<string[]> {
    const rows =
      kind === 'Gateway'
        ? await tx<{ name: string }[]>`SELECT name FROM apis WHERE org_id = ${org} AND upstream_gateway = ${name} ORDER BY name`
        : await tx<{ name: string }[]>`SELECT name FROM apis WHERE org_id = ${org} AND upstream_pool = ${name} ORDER BY name`;
    return rows.map((r) => r.name);
  }

  private async checkNotInUse(tx: Tx, kind: Kind, org: string, name: string): Promise<void> {
    if (kind !== 'Gateway' && kind !== 'GatewayPool') return;
    const users = await this.apisUsing(tx, kind, org, name);
    if (users.length > 0) {
      throw new CausewayError(
        'conflict',
        `${what[kind]} "${name}" is still used by ${users.length === 1 ? 'API' : 'APIs'} ${users.map((u) => `"${u}"`).join(', ')}; change or delete them first`,
      );
    }
  }

  /** What a spec names must exist in the same org: a missing one is the caller's mistake. */
  private async checkReferences(tx: Tx, kind: Kind, org: string, name: string, spec: SpecByKind[Kind]): Promise<void> {
    if (kind === 'GatewayPool') {
      const members = (spec as PoolSpec).members;
      if (members.length === 0) return;
      const found = new Set(
        (await tx<{ name: string }[]>`SELECT name FROM gateways WHERE org_id = ${org} AND name IN ${tx(members as string[])}`).map((r) => r.name),
      );
      const details = members.flatMap((member, i) =>
        found.has(member) ? [] : [{ path: `spec.members[${i}]`, message: `gateway "${member}" does not exist` }],
      );
      if (details.length > 0) throw CausewayError.invalid(details);
    }
    if (kind === 'Api') {
      const api = spec as ApiSpec;
      const upstream = api.upstream;
      if ('gateway' in upstream) {
        if ((await tables.Gateway.get(tx, org, upstream.gateway)) === undefined) {
          throw CausewayError.invalid([{ path: 'spec.upstream.gateway', message: `gateway "${upstream.gateway}" does not exist` }]);
        }
      } else if ((await tables.GatewayPool.get(tx, org, upstream.pool)) === undefined) {
        throw CausewayError.invalid([{ path: 'spec.upstream.pool', message: `gateway pool "${upstream.pool}" does not exist` }]);
      }
      await checkRouteConflicts(tx, org, name, api);
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

/** Method lists overlap when either is empty (every method) or they share one. */
function methodsOverlap(a: readonly string[], b: readonly string[]): boolean {
  if (a.length === 0 || b.length === 0) return true;
  return a.some((x) => b.includes(x));
}

/**
 * Two APIs may not claim the same base path for the same host and method: the runtime
 * could not tell which one a request is for. Runs after the revision lock is taken, so
 * two writers cannot both pass it.
 */
async function checkRouteConflicts(tx: Tx, org: string, name: string, api: ApiSpec): Promise<void> {
  const rows = await tx<{ org_id: string; name: string; spec: ApiSpec }[]>`
    SELECT org_id, name, spec FROM apis WHERE base_path = ${api.basePath} AND NOT (org_id = ${org} AND name = ${name})`;
  for (const other of rows) {
    const hostsClash = api.hosts.length === 0 ? other.spec.hosts.length === 0 : api.hosts.some((h) => other.spec.hosts.includes(h));
    const methodsClash = methodsOverlap(api.methods, other.spec.methods);
    if (hostsClash && methodsClash) {
      const owner = other.org_id === org ? `API "${other.name}"` : "another organisation's API";
      throw new CausewayError('conflict', `base path "${api.basePath}" is already served by ${owner} for the same hosts and methods`, {
        details: [{ path: 'spec.basePath', message: `"${api.basePath}" is already used by ${owner}` }],
      });
    }
  }
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
