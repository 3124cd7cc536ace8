import { stringify } from 'yaml';
import { CausewayError } from '@causeway/shared';

/** Where a command prints: results on `out`, messages for the person at the terminal on `err`. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** What the CLI prints tables of: a parsed JSON object of the admin API. */
export type Row = Record<string, unknown>;

/** One cell: `-` for nothing, JSON for objects. */
export const str = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Columns padded to their widest cell, three spaces apart, like kubectl's. */
function table(rows: readonly Record<string, string>[]): string[] {
  const first = rows[0];
  if (first === undefined) return ['No resources found.'];
  const headers = Object.keys(first);
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => (r[h] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd();
  return [line(headers), ...rows.map((r) => line(headers.map((h) => r[h] ?? '')))];
}

const formats = ['table', 'wide', 'json', 'yaml'];

/**
 * An answer as `-o json` (as the API sent it), `-o yaml` (its items) or a table of `rows`
 * (`-o wide`: `rows` is told, and may add columns).
 */
export function show(io: Output, format: string, body: Row & { items?: Row[] }, rows: (items: readonly Row[], wide: boolean) => Record<string, string>[]): void {
  if (!formats.includes(format)) throw new CausewayError('invalid_argument', `-o ${JSON.stringify(format)} is not one of ${formats.join(', ')}`);
  if (format === 'json') io.out(JSON.stringify(body, null, 2));
  else if (format === 'yaml') io.out(stringify(body.items ?? body).trimEnd());
  else for (const line of table(rows(body.items ?? [body], format === 'wide'))) io.out(line);
}
