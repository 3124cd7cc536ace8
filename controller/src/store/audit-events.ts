import type { FieldChange } from '../access/field-changes.ts';
import type { Sql, Tx } from './database.ts';
import { EXACT_INSTANT, type ListPosition } from './list-position.ts';
import type { AuditContext, AuditEntry } from './mutate.ts';

export interface AuditEvent {
  readonly id: number;
  readonly at: Date;
  readonly org: string;
  readonly actor: { readonly kind: string; readonly id: string; readonly name: string };
  readonly action: string;
  readonly outcome: 'ok' | 'denied' | 'unauthenticated';
  readonly resource: { readonly kind: string; readonly name: string };
  readonly revision: number | null;
  readonly requestId: string;
  readonly controller: string;
  readonly source: string;
  readonly changes: readonly FieldChange[];
}

/** Where a page of events ended. */
export type AuditPosition = ListPosition<number>;

/** What a list of audit events is narrowed to; `before` is the cursor (the last event of the previous page). */
export interface AuditQuery {
  readonly org: string;
  readonly resourceKind?: string;
  readonly resourceName?: string;
  readonly action?: string;
  /** An actor's token id or name. */
  readonly actor?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly before?: AuditPosition;
  readonly limit: number;
}

interface Row {
  id: number;
  at: Date;
  org_id: string;
  actor_kind: string;
  actor_id: string;
  actor_name: string;
  action: string;
  outcome: AuditEvent['outcome'];
  resource_kind: string;
  resource_name: string;
  revision: number | null;
  request_id: string;
  controller_id: string;
  source: string;
  changes: FieldChange[];
}

function eventOf(row: Row): AuditEvent {
  return {
    id: row.id,
    at: row.at,
    org: row.org_id,
    actor: { kind: row.actor_kind, id: row.actor_id, name: row.actor_name },
    action: row.action,
    outcome: row.outcome,
    resource: { kind: row.resource_kind, name: row.resource_name },
    revision: row.revision,
    requestId: row.request_id,
    controller: row.controller_id,
    source: row.source,
    changes: row.changes,
  };
}

/** Newest first, narrowed by every filter given; one page of `limit`, and where the next one starts when it is full. */
export async function listAuditEvents(sql: Sql, q: AuditQuery): Promise<{ events: AuditEvent[]; next: AuditPosition | undefined }> {
  // The cursor's time goes in as text: a timestamp parameter would pass through a Date and lose its microseconds.
  const rows = await sql<(Row & { at_exact: string })[]>`
    SELECT *, to_char(at AT TIME ZONE 'UTC', ${EXACT_INSTANT}) AS at_exact FROM audit_events
    WHERE org_id = ${q.org}
      ${q.resourceKind === undefined ? sql`` : sql`AND resource_kind = ${q.resourceKind}`}
      ${q.resourceName === undefined ? sql`` : sql`AND resource_name = ${q.resourceName}`}
      ${q.action === undefined ? sql`` : sql`AND action = ${q.action}`}
      ${q.actor === undefined ? sql`` : sql`AND (actor_id = ${q.actor} OR actor_name = ${q.actor})`}
      ${q.since === undefined ? sql`` : sql`AND at >= ${q.since}`}
      ${q.until === undefined ? sql`` : sql`AND at < ${q.until}`}
      ${q.before === undefined ? sql`` : sql`AND (at, id) < (${q.before.at}::text::timestamptz, ${q.before.id})`}
    ORDER BY at DESC, id DESC
    LIMIT ${q.limit}`;
  const last = rows.at(-1);
  return { events: rows.map(eventOf), next: rows.length === q.limit && last !== undefined ? { at: last.at_exact, id: last.id } : undefined };
}

/**
 * An event of a request that changed nothing: a failed authentication or a permission
 * denial (its caller limits how many one source may leave). Outside any mutation, so no
 * revision.
 */
export async function recordRefusal(
  sql: Sql,
  org: string,
  context: AuditContext,
  refusal: { readonly outcome: 'denied' | 'unauthenticated'; readonly action: string; readonly detail: string },
): Promise<void> {
  const { actor } = context;
  await sql`
    INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_name, action, outcome, request_id, controller_id, source, changes)
    VALUES (${org}, ${actor.kind}, ${actor.id}, ${actor.name}, ${refusal.action}, ${refusal.outcome}, ${context.requestId},
            ${context.controllerId}, ${context.source}, ${sql.json([{ field: 'reason', before: null, after: refusal.detail }])})`;
}

/** Deletes events older than the retention; returns how many. */
export async function pruneAuditEvents(sql: Sql, retentionDays: number): Promise<number> {
  const deleted = await sql`DELETE FROM audit_events WHERE at < now() - ${`${retentionDays} days`}::interval`;
  return deleted.count;
}

/**
 * An event of a change made outside the revision log (a certificate issued to a runtime),
 * in the caller's transaction: it commits with the change or not at all.
 */
export async function recordAuditEvent(db: Sql | Tx, context: AuditContext, entry: AuditEntry): Promise<void> {
  const { actor } = context;
  await db`
    INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_name, action, resource_kind, resource_name, request_id, controller_id, source, changes)
    VALUES (${entry.org}, ${actor.kind}, ${actor.id}, ${actor.name}, ${entry.action}, ${entry.resourceKind}, ${entry.resourceName},
            ${context.requestId}, ${context.controllerId}, ${context.source}, ${db.json(entry.changes as never)})`;
}
