import { failpoint } from '../failpoints.ts';
import type { FieldChange } from '../access/field-changes.ts';
import type { Sql, Tx } from './database.ts';
import { changeKindOf, type Kind } from './records.ts';

export const CHANGES_CHANNEL = 'causeway_changes';

interface Change {
  /** A resource kind, or an access entity (tokens are logged by id, roles and orgs by name, revocations by node id). */
  readonly kind: Kind | 'org' | 'role' | 'token' | 'revocation';
  readonly org: string;
  readonly name: string;
  readonly op: 'upsert' | 'delete';
}

/** Who acts: a token of an org, the bootstrap token, a gateway's own token, a runtime (for its certificate), or the controller itself. */
export interface Actor {
  readonly kind: 'bootstrap' | 'token' | 'gateway' | 'runtime' | 'system';
  readonly id: string;
  readonly name: string;
}

/** What every audit event of one request says about where it came from. */
export interface AuditContext {
  readonly actor: Actor;
  readonly requestId: string;
  readonly source: string;
  readonly controllerId: string;
}

/** What the controller does on its own (chores, a deployment another replica abandoned). */
export function systemAudit(controllerId: string): AuditContext {
  return { actor: { kind: 'system', id: 'controller', name: controllerId }, requestId: '', source: '', controllerId };
}

/** One audited change: `gateway-pool.add-member` of `gateway-pool/shop` in org `acme`, with the fields it changed. */
export interface AuditEntry {
  readonly org: string;
  readonly action: string;
  readonly resourceKind: string;
  readonly resourceName: string;
  readonly changes: readonly FieldChange[];
}

/** What a mutation gets: its transaction, its revision, the change log to append to and the audit log to write. */
export interface Mutation {
  readonly tx: Tx;
  readonly revision: number;
  record(change: Change): void;
  audit(entry: AuditEntry): void;
}

function changeKindFor(change: Change): string {
  return change.kind === 'org' || change.kind === 'role' || change.kind === 'token' || change.kind === 'revocation' ? change.kind : changeKindOf[change.kind];
}

async function insertChanges(tx: Tx, revision: number, list: readonly Change[]): Promise<void> {
  // One statement whatever the count: arrays are 6 bind parameters in all, where a row
  // list would need 6 per change and stop at PostgreSQL's 65,535.
  await tx`
    INSERT INTO config_changes (revision, seq, kind, org_id, name, op)
    SELECT ${revision}, t.seq, t.kind, t.org_id, t.name, t.op
    FROM unnest(${list.map((_c, seq) => seq)}::int[], ${list.map(changeKindFor)}::text[],
                ${list.map((c) => c.org)}::text[], ${list.map((c) => c.name)}::text[], ${list.map((c) => c.op)}::text[])
         AS t(seq, kind, org_id, name, op)`;
}

async function insertAuditEvents(tx: Tx, revision: number, context: AuditContext, entries: readonly AuditEntry[]): Promise<void> {
  const { actor } = context;
  const rows = entries.map((e) => ({ org_id: e.org, action: e.action, resource_kind: e.resourceKind, resource_name: e.resourceName, changes: e.changes }));
  // One statement whatever the count, as for the change log.
  await tx`
    INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_name, action, resource_kind, resource_name, revision,
                              request_id, controller_id, source, changes)
    SELECT t.org_id, ${actor.kind}, ${actor.id}, ${actor.name}, t.action, t.resource_kind, t.resource_name, ${revision},
           ${context.requestId}, ${context.controllerId}, ${context.source}, t.changes
    FROM jsonb_to_recordset(${tx.json(rows as never)}) AS t(org_id text, action text, resource_kind text, resource_name text, changes jsonb)`;
}

/**
 * Runs `work` as one mutation (ARCHITECTURE.md §2): takes the next global revision (the
 * row lock serialises writers, so revision order is commit order), lets `work` write
 * entities with it, appends the touched entities to config_changes, writes the audit
 * events `work` recorded and notifies, all in one transaction: a change and its audit
 * event commit together or not at all. Anything thrown rolls everything back; a mutation
 * that recorded no audit event is a programming error and is rolled back too.
 */
export async function mutate<T>(sql: Sql, context: AuditContext, work: (m: Mutation) => Promise<T>): Promise<{ result: T; revision: number }> {
  return sql.begin(async (tx) => {
    const [state] = await tx<{ revision: number }[]>`
      UPDATE config_state SET revision = revision + 1 RETURNING revision`;
    if (state === undefined) throw new Error('config_state row is missing');
    const revision = state.revision;
    const changes = new Map<string, Change>();
    const audits: AuditEntry[] = [];
    const result = await work({
      tx,
      revision,
      record(change) {
        changes.set(`${change.kind}\u0000${change.org}\u0000${change.name}`, change);
      },
      audit(entry) {
        audits.push(entry);
      },
    });
    if (audits.length === 0) throw new Error('a mutation recorded no audit event');
    if (changes.size > 0) await insertChanges(tx, revision, [...changes.values()]);
    await insertAuditEvents(tx, revision, context, audits);
    await tx`SELECT pg_notify(${CHANGES_CHANNEL}, ${String(revision)})`;
    failpoint('mutation.before-commit');
    return { result, revision };
  });
}
