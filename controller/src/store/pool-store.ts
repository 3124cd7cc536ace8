import { CausewayError } from '@causeway/shared';
import type { Sql } from './database.ts';
import { fieldChanges } from '../access/field-changes.ts';
import { mutate, type AuditEntry, type Mutation } from './mutate.ts';
import { apisUsing } from './pool-usage.ts';
import type { ApiSpec, Labels, PoolRecord } from './records.ts';
import { lastMemberConflict } from './references.ts';
import { notFound, ResourceStore, type Scope } from './resource-store.ts';
import { tables } from './tables.ts';

/** The imperative pool operations of the admin API for one org, each one audited mutation. */
export class PoolStore {
  private readonly sql: Sql;
  private readonly store: ResourceStore;
  private readonly scope: Scope;

  constructor(sql: Sql, scope: Scope) {
    this.sql = sql;
    this.scope = scope;
    this.store = new ResourceStore(sql, scope);
  }

  /** POST: create only; an existing name is a 409. */
  async create(name: string, labels: Labels, members: readonly string[], description: string): Promise<PoolRecord> {
    if ((await this.store.get('GatewayPool', name)) !== undefined) throw alreadyExists(name);
    const result = await this.store.put('GatewayPool', name, labels, { members, description }, {
      alsoDo: async (_m, previous) => {
        if (previous !== undefined) throw alreadyExists(name);
      },
    });
    return result.record;
  }

  /** Rename and/or new description. A rename carries every API using the pool along. */
  async update(name: string, changes: { name?: string; description?: string }, ifMatch?: number): Promise<PoolRecord> {
    const { org } = this.scope;
    const { result } = await mutate(this.sql, this.scope.audit, async (m) => {
      const pool = await this.lockPool(m, org, name, ifMatch);
      const newName = changes.name ?? name;
      if (newName !== name) {
        if ((await tables.GatewayPool.get(m.tx, org, newName)) !== undefined) throw alreadyExists(newName);
        await m.tx`UPDATE gateway_pools SET name = ${newName} WHERE org_id = ${org} AND name = ${name}`;
        await this.repointApis(m, org, newName);
        m.record({ kind: 'GatewayPool', org, name, op: 'delete' });
      }
      await m.tx`UPDATE gateway_pools SET description = ${changes.description ?? pool.spec.description},
                 revision = ${m.revision}, updated_at = now() WHERE org_id = ${org} AND name = ${newName}`;
      m.record({ kind: 'GatewayPool', org, name: newName, op: 'upsert' });
      const changed = fieldChanges({ metadata: { name }, spec: { description: pool.spec.description } }, { metadata: { name: newName }, spec: { description: changes.description ?? pool.spec.description } });
      m.audit({ org, action: 'gateway-pool.update', resourceKind: 'gateway-pool', resourceName: newName, changes: changed });
      return (await tables.GatewayPool.get(m.tx, org, newName)) as PoolRecord;
    });
    return result;
  }

  async addMember(pool: string, gateway: string): Promise<PoolRecord> {
    const { org } = this.scope;
    const { result } = await mutate(this.sql, this.scope.audit, async (m) => {
      const record = await this.lockPool(m, org, pool);
      if ((await tables.Gateway.get(m.tx, org, gateway)) === undefined) throw notFound('Gateway', gateway);
      if (record.spec.members.includes(gateway)) {
        throw new CausewayError('already_exists', `gateway "${gateway}" is already a member of gateway pool "${pool}"`);
      }
      await m.tx`INSERT INTO gateway_pool_members (org_id, pool_name, gateway_name) VALUES (${org}, ${pool}, ${gateway})`;
      m.audit(memberEvent(org, 'add-member', pool, record.spec.members, [...record.spec.members, gateway].sort()));
      return this.touch(m, org, pool);
    });
    return result;
  }

  /** Refused for the last member of a pool that APIs use, unless `force`. */
  async removeMember(pool: string, gateway: string, force = false): Promise<PoolRecord> {
    const { org } = this.scope;
    const { result } = await mutate(this.sql, this.scope.audit, async (m) => {
      const record = await this.lockPool(m, org, pool);
      const removed = await m.tx`DELETE FROM gateway_pool_members WHERE org_id = ${org} AND pool_name = ${pool} AND gateway_name = ${gateway}`;
      if (removed.count === 0) throw new CausewayError('not_found', `gateway "${gateway}" is not a member of gateway pool "${pool}"`);
      if (record.spec.members.length === 1 && !force) {
        const users = await apisUsing(m.tx, 'GatewayPool', org, pool);
        if (users.length > 0) throw lastMemberConflict(pool, users, gateway);
      }
      m.audit(memberEvent(org, 'remove-member', pool, record.spec.members, record.spec.members.filter((g) => g !== gateway)));
      return this.touch(m, org, pool);
    });
    return result;
  }

  private async lockPool(m: Mutation, org: string, name: string, ifMatch?: number): Promise<PoolRecord> {
    const pool = await tables.GatewayPool.get(m.tx, org, name, true);
    if (pool === undefined) throw notFound('GatewayPool', name);
    if (ifMatch !== undefined && pool.revision !== ifMatch) {
      throw new CausewayError('precondition_failed', `gateway pool "${name}" is at revision ${pool.revision}, not ${ifMatch} (If-Match); read it again and retry`);
    }
    return pool;
  }

  private async touch(m: Mutation, org: string, pool: string): Promise<PoolRecord> {
    await m.tx`UPDATE gateway_pools SET revision = ${m.revision}, updated_at = now() WHERE org_id = ${org} AND name = ${pool}`;
    m.record({ kind: 'GatewayPool', org, name: pool, op: 'upsert' });
    return (await tables.GatewayPool.get(m.tx, org, pool)) as PoolRecord;
  }

  /** The foreign key followed the rename; the APIs' specs must say the new name too. */
  private async repointApis(m: Mutation, org: string, to: string): Promise<void> {
    const apis = await m.tx<{ name: string; labels: Labels; spec: ApiSpec }[]>`
      SELECT name, labels, spec FROM apis WHERE org_id = ${org} AND upstream_pool = ${to}`;
    for (const api of apis) {
      const spec: ApiSpec = { ...api.spec, upstream: { pool: to } };
      await tables.Api.write(m, org, api.name, api.labels, spec);
      m.record({ kind: 'Api', org, name: api.name, op: 'upsert' });
    }
  }
}

/** `gateway-pool.add-member` of a pool: the members before and after name the gateway. */
function memberEvent(org: string, action: 'add-member' | 'remove-member', pool: string, before: readonly string[], after: readonly string[]): AuditEntry {
  return { org, action: `gateway-pool.${action}`, resourceKind: 'gateway-pool', resourceName: pool, changes: fieldChanges({ spec: { members: before } }, { spec: { members: after } }) };
}

function alreadyExists(name: string): CausewayError {
  return new CausewayError('already_exists', `a gateway pool named "${name}" already exists`);
}
