import { CausewayError } from '@causeway/shared';
import { consumerKeys, newToken } from '../access/token-secrets.ts';
import type { Sql } from './database.ts';
import { mutate, type Mutation } from './mutate.ts';
import { consumerRules } from './records.ts';
import { notFound, type Scope } from './resource-store.ts';
import { tables } from './tables.ts';

/** A key as listed: never its secret, which only its creation answers (once). */
export interface ConsumerKeyRecord {
  readonly id: string;
  readonly consumer: string;
  readonly name: string;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

interface KeyRow {
  id: string;
  consumer_name: string;
  name: string;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
}

const keyRecord = (row: KeyRow): ConsumerKeyRecord => ({
  id: row.id,
  consumer: row.consumer_name,
  name: row.name,
  createdBy: row.created_by,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

/**
 * The API keys of one org's consumers. A key change is a change of its consumer (new
 * revision, logged), so runtimes get the new set of digests like any config change.
 */
export class ConsumerKeyStore {
  private readonly sql: Sql;
  private readonly scope: Scope;

  constructor(sql: Sql, scope: Scope) {
    this.sql = sql;
    this.scope = scope;
  }

  async list(consumer: string): Promise<ConsumerKeyRecord[]> {
    const { org } = this.scope;
    if ((await tables.Consumer.get(this.sql, org, consumer)) === undefined) throw notFound('Consumer', consumer);
    const rows = await this.sql<KeyRow[]>`
      SELECT id, consumer_name, name, created_by, created_at, revoked_at FROM consumer_keys
      WHERE org_id = ${org} AND consumer_name = ${consumer} ORDER BY created_at, id`;
    return rows.map(keyRecord);
  }

  /** A new key; its secret is in the answer and nowhere else. */
  async create(consumer: string, name: string): Promise<ConsumerKeyRecord & { readonly secret: string }> {
    const { org } = this.scope;
    const { result } = await mutate(this.sql, this.scope.audit, async (m) => {
      await this.lockConsumer(m, consumer);
      const [live] = await m.tx<{ count: number }[]>`
        SELECT count(*)::int AS count FROM consumer_keys WHERE org_id = ${org} AND consumer_name = ${consumer} AND revoked_at IS NULL`;
      if ((live?.count ?? 0) >= consumerRules.maxLiveKeys) {
        throw new CausewayError('conflict', `consumer "${consumer}" has ${consumerRules.maxLiveKeys} live keys, the most it may have; revoke one first`);
      }
      const token = newToken(consumerKeys);
      const [row] = await m.tx<KeyRow[]>`
        INSERT INTO consumer_keys (id, org_id, consumer_name, name, digest, created_by)
        VALUES (${token.id}, ${org}, ${consumer}, ${name}, ${token.digest}, ${this.scope.audit.actor.name})
        RETURNING id, consumer_name, name, created_by, created_at, revoked_at`;
      await this.changed(m, consumer, 'consumer.key-create', [{ field: 'keys', before: null, after: { id: token.id, name } }]);
      return { ...keyRecord(row as KeyRow), secret: token.secret };
    });
    return result;
  }

  /** Revokes a live key: runtimes refuse it once they read the change (within a second). */
  async revoke(consumer: string, id: string): Promise<ConsumerKeyRecord> {
    const { org } = this.scope;
    const { result } = await mutate(this.sql, this.scope.audit, async (m) => {
      await this.lockConsumer(m, consumer);
      const [row] = await m.tx<KeyRow[]>`
        UPDATE consumer_keys SET revoked_at = now()
        WHERE id = ${id} AND org_id = ${org} AND consumer_name = ${consumer} AND revoked_at IS NULL
        RETURNING id, consumer_name, name, created_by, created_at, revoked_at`;
      if (row === undefined) throw new CausewayError('not_found', `consumer "${consumer}" has no live key "${id}"`);
      await this.changed(m, consumer, 'consumer.key-revoke', [{ field: 'keys', before: { id, name: row.name }, after: null }]);
      return keyRecord(row);
    });
    return result;
  }

  private async lockConsumer(m: Mutation, consumer: string): Promise<void> {
    if ((await tables.Consumer.get(m.tx, this.scope.org, consumer, true)) === undefined) throw notFound('Consumer', consumer);
  }

  private async changed(m: Mutation, consumer: string, action: string, changes: { field: string; before: unknown; after: unknown }[]): Promise<void> {
    const { org } = this.scope;
    await m.tx`UPDATE consumers SET revision = ${m.revision}, updated_at = now() WHERE org_id = ${org} AND name = ${consumer}`;
    m.record({ kind: 'Consumer', org, name: consumer, op: 'upsert' });
    m.audit({ org, action, resourceKind: 'consumer', resourceName: consumer, changes });
  }
}
