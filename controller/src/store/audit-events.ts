import type { FieldChange } from '../access/field-changes.ts';
import type { Sql } from './database.ts';
import type { AuditContext } from './mutate.ts';

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
  readonly before?: { readonly at: Date; readonly id: number };
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

/** Newest first, narrowed by every filter given; one page of `limit`. */
export async function listAuditEvents(sql: Sql, q: AuditQuery): Promise<AuditEvent[]> {
  const rows = await sql<Row[]>`
    SELECT * FROM audit_events
    WHERE org_id = ${q.org}
      ${q.resourceKind === undefined ? sql`` : sql`AND resource_kind = ${q.resourceKind}`}
      ${q.resourceName === undefined ? sql`` : sql`AND resource_name = ${q.resourceName}`}
      ${q.action === undefined ? sql`` : sql`AND action = ${q.action}`}
      ${q.actor === undefined ? sql`` : sql`AND (actor_id = ${q.actor} OR actor_name = ${q.actor})`}
      ${q.since === undefined ? sql`` : sql`AND at >= ${q.since}`}
      ${q.until === undefined ? sql`` : sql`AND at < ${q.until}`}
      ${q.before === undefined ? sql`` : sql`AND (at, id) < (${q.before.at}, ${q.before.id})`}
    ORDER BY at DESC, id DESC
    LIMIT ${q.limit}`;
  return rows.map(eventOf);
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
