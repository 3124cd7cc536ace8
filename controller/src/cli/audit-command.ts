import { CausewayError } from '@causeway/shared';
import type { AdminClient } from './admin-client.ts';
import { show, str, type Output, type Row } from './output.ts';

/** The filters of `causeway audit`, as `GET /v1/audit-events` takes them. */
export interface AuditFlags {
  readonly output: string;
  readonly resource?: string | undefined;
  readonly action?: string | undefined;
  readonly actor?: string | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly limit?: string | undefined;
}

/** The most the API answers in one page. */
const PAGE = 1_000;
const MAX_LIMIT = 100_000;

function limitOf(raw: string | undefined): number {
  if (raw === undefined) return 100;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new CausewayError('invalid_argument', `--limit: ${JSON.stringify(raw)} is not a whole number from 1 to ${MAX_LIMIT}`);
  return limit;
}

function actorOf(actor: Row): string {
  if (actor.kind === 'token') return str(actor.name);
  return actor.kind === 'gateway' ? `gateway/${str(actor.name)}` : str(actor.kind);
}

/** The first few fields an event changed (`-o json` has them all, with before and after). */
function changedFields(fields: readonly string[]): string {
  if (fields.length === 0) return '-';
  const shown = fields.slice(0, 3).join(',');
  return fields.length > 3 ? `${shown} +${fields.length - 3}` : shown;
}

function rows(events: readonly Row[]): Record<string, string>[] {
  return events.map((e) => {
    const resource = e.resource as Row;
    const changes = (e.changes as { field: string }[] | undefined) ?? [];
    return {
      TIME: str(e.at).replace(/\.\d+Z$/, 'Z'),
      ACTOR: actorOf(e.actor as Row),
      ACTION: str(e.action),
      RESOURCE: `${str(resource.kind)}/${str(resource.name)}`,
      OUTCOME: str(e.outcome),
      REVISION: str(e.revision),
      CHANGED: changedFields(changes.map((c) => c.field)),
    };
  });
}

/**
 * `causeway audit`: the org's audit events, newest first, following the API's cursor
 * page after page until `--limit` events (100 unless told) or the last one.
 */
export async function audit(client: AdminClient, flags: AuditFlags, io: Output): Promise<number> {
  const limit = limitOf(flags.limit);
  const filters = Object.entries({ resource: flags.resource, action: flags.action, actor: flags.actor, since: flags.since, until: flags.until })
    .filter((entry): entry is [string, string] => entry[1] !== undefined);
  const items: Row[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams(filters);
    query.set('limit', String(Math.min(PAGE, limit - items.length)));
    if (cursor !== null) query.set('cursor', cursor);
    const page: { items: Row[]; nextCursor: string | null } = (await client.request<{ items: Row[]; nextCursor: string | null }>('GET', `/v1/audit-events?${query.toString()}`)).body;
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null && items.length < limit);
  show(io, flags.output, { apiVersion: 'causeway/v1', kind: 'AuditEventList', items, nextCursor: cursor }, rows);
  if (cursor !== null && flags.output === 'table') io.err(`(the newest ${limit}; older ones with --limit or --until)`);
  return 0;
}
