import { isSlug } from '@causeway/shared';
import type { ListPosition } from '../store/list-position.ts';
import type { NamePage } from '../store/tables.ts';
import { Checker } from './checker.ts';

/** The `nextCursor` a list answers: opaque to clients, read back by `decodeCursor`. */
export function encodeCursor(position: ListPosition<string | number>): string {
  return Buffer.from(JSON.stringify({ at: position.at, id: position.id })).toString('base64url');
}

/** The JSON a cursor this API gave holds; undefined for anything else. */
function cursorContent(raw: string): Record<string, unknown> | undefined {
  if (raw.length > 512) return undefined;
  try {
    const content: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    return typeof content === 'object' && content !== null ? (content as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const notOurs = 'is not a cursor this API gave (nextCursor of the previous page)';

/** `?cursor=` back into a position, or a 400 on `cursor` when this API did not give it. */
export function decodeCursor<Id extends string | number>(c: Checker, raw: string | undefined, isId: (id: unknown) => id is Id): ListPosition<Id> | undefined {
  if (raw === undefined || raw === '') return undefined;
  const { at, id } = cursorContent(raw) ?? {};
  // A real instant to the second (no 30 February, no year 0), with at most six decimals: what PostgreSQL takes back.
  const exact =
    typeof at === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/.test(at) && !at.startsWith('0000') && new Date(at).toISOString().slice(0, 19) === at.slice(0, 19);
  if (exact && isId(id)) return { at, id };
  c.fail('cursor', notOurs);
  return undefined;
}

/** The `nextCursor` of a list by name: the last name of the page. */
function encodeNameCursor(name: string): string {
  return Buffer.from(JSON.stringify({ after: name })).toString('base64url');
}

/** `?cursor=` of a list by name back into the name to start after, or a 400 on `cursor`. */
function decodeNameCursor(c: Checker, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const { after } = cursorContent(raw) ?? {};
  // A name as this API names things: nothing PostgreSQL would refuse to compare.
  if (typeof after === 'string' && isSlug(after)) return after;
  c.fail('cursor', notOurs);
  return undefined;
}

/** The most a page of a list by name holds (`?limit=`). */
const LIST_PAGE_MAX = 1_000;

/** `?limit=&cursor=` as a request has them. */
export interface PageQuery {
  readonly limit?: number | string | undefined;
  readonly cursor?: string | undefined;
}

/** `?limit=&cursor=` of a list by name: every item without `limit`; a 400 naming the field when either is wrong. */
export function namePageOf(query: PageQuery): NamePage {
  const c = new Checker();
  const after = decodeNameCursor(c, query.cursor);
  const limit = query.limit === undefined ? undefined : c.range('limit', Number(query.limit), { min: 1, max: LIST_PAGE_MAX, default: LIST_PAGE_MAX });
  c.done();
  return { after, limit };
}

/**
 * One page of a list by name, read with one item more than asked so that `nextCursor` is
 * null on the last page; every item, and no next page, without `limit`.
 */
export async function readNamePage<T extends { readonly name: string }>(page: NamePage, read: (page: NamePage) => Promise<T[]>): Promise<{ items: T[]; nextCursor: string | null }> {
  if (page.limit === undefined) return { items: await read(page), nextCursor: null };
  const rows = await read({ after: page.after, limit: page.limit + 1 });
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > page.limit && last !== undefined ? encodeNameCursor(last.name) : null };
}

/** The query string schema of a list by name. */
export const namePageQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: LIST_PAGE_MAX, description: 'a page of at most this many; without it, every one' },
    cursor: { type: 'string', description: 'nextCursor of the previous page' },
  },
} as const;
