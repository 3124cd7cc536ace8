import type { ListPosition } from '../store/list-position.ts';
import type { Checker } from './checker.ts';

/** The `nextCursor` a list answers: opaque to clients, read back by `decodeCursor`. */
export function encodeCursor(position: ListPosition<string | number>): string {
  return Buffer.from(JSON.stringify({ at: position.at, id: position.id })).toString('base64url');
}

/** `?cursor=` back into a position, or a 400 on `cursor` when this API did not give it. */
export function decodeCursor<Id extends string | number>(c: Checker, raw: string | undefined, isId: (id: unknown) => id is Id): ListPosition<Id> | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.length <= 512) {
    try {
      const { at, id } = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { at?: unknown; id?: unknown };
      // A real instant to the second (no 30 February), with at most six decimals: what PostgreSQL takes back.
      const exact = typeof at === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/.test(at) && new Date(at).toISOString().slice(0, 19) === at.slice(0, 19);
      if (exact && isId(id)) return { at, id };
    } catch {
      // answered below
    }
  }
  c.fail('cursor', 'is not a cursor this API gave (nextCursor of the previous page)');
  return undefined;
}

