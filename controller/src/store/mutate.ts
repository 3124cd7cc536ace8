import type { Sql, Tx } from './database.ts';
import { changeKindOf, type Kind } from './records.ts';

export const CHANGES_CHANNEL = 'causeway_changes';

interface Change {
  readonly kind: Kind;
  readonly org: string;
  readonly name: string;
  readonly op: 'upsert' | 'delete';
}

/** What a mutation gets: its transaction, its revision, and the change log to append to. */
export interface Mutation {
  readonly tx: Tx;
  readonly revision: number;
  record(change: Change): void;
}

/**
 * Runs `work` as one mutation (ARCHITECTURE.md §2): takes the next global revision (the
 * row lock serialises writers, so revision order is commit order), lets `work` write
 * entities with it, appends the touched entities to config_changes and notifies, all in
 * one transaction. Anything thrown rolls everything back.
 */
export async function mutate<T>(sql: Sql, work: (m: Mutation) => Promise<T>): Promise<{ result: T; revision: number }> {
  return sql.begin(async (tx) => {
    const [state] = await tx<{ revision: number }[]>`
      UPDATE config_state SET revision = revision + 1 RETURNING revision`;
    if (state === undefined) throw new Error('config_state row is missing');
    const revision = state.revision;
    const changes = new Map<string, Change>();
    const result = await work({
      tx,
      revision,
      record(change) {
        changes.set(`${change.kind}\u0000${change.org}\u0000${change.name}`, change);
      },
    });
    if (changes.size > 0) {
      // One statement whatever the count: arrays are 6 bind parameters in all, where a
      // row list would need 6 per change and stop at PostgreSQL's 65,535.
      const list = [...changes.values()];
      await tx`
        INSERT INTO config_changes (revision, seq, kind, org_id, name, op)
        SELECT ${revision}, t.seq, t.kind, t.org_id, t.name, t.op
        FROM unnest(${list.map((_c, seq) => seq)}::int[], ${list.map((c) => changeKindOf[c.kind])}::text[],
                    ${list.map((c) => c.org)}::text[], ${list.map((c) => c.name)}::text[], ${list.map((c) => c.op)}::text[])
             AS t(seq, kind, org_id, name, op)`;
    }
    await tx`SELECT pg_notify(${CHANGES_CHANNEL}, ${String(revision)})`;
    return { result, revision };
  });
}
