import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCodes, httpStatusFor } from '@causeway/shared';
import { adminErrorCodes } from '../../../controller/src/admin-api/error-replies.ts';
import { code, readDoc, section, tableRows } from './markdown.ts';

const docs = ['README.md', ...readdirSync(new URL('../../../docs/', import.meta.url)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** `status code` as the docs write them: "409 `conflict`" or "`409 conflict`". */
function statusMentions(text: string): { status: number; code: string; where: string }[] {
  const found: { status: number; code: string; where: string }[] = [];
  for (const match of text.matchAll(/\b([1-5]\d\d) `([a-z_]+)`|`([1-5]\d\d) ([a-z_]+)`/g)) {
    found.push({ status: Number(match[1] ?? match[3]), code: match[2] ?? match[4] ?? '', where: match[0] });
  }
  return found;
}

describe('the error table of docs/admin-api.md', () => {
  const rows = tableRows(section(readDoc('docs/admin-api.md'), '## Errors')).map(([status = '', cell = '']) => ({ status: Number(status), code: code(cell) ?? cell }));

  it('lists every code the admin API answers with, each once', () => {
    expect(rows.map((r) => r.code).sort()).toEqual([...adminErrorCodes].sort());
  });

  it('gives each code the HTTP status the code answers with', () => {
    const wrong = rows.filter((r) => r.status !== httpStatusFor(r.code as never)).map((r) => `${r.code}: documented ${r.status}, answers ${httpStatusFor(r.code as never)}`);
    expect(wrong).toEqual([]);
  });

  it('lists only codes that exist', () => {
    expect(rows.map((r) => r.code).filter((c) => !(errorCodes as readonly string[]).includes(c))).toEqual([]);
  });
});

describe('error codes anywhere in the docs', () => {
  it('are written with the HTTP status they answer with', () => {
    const wrong = docs.flatMap((doc) =>
      statusMentions(readDoc(doc))
        .filter((m) => (errorCodes as readonly string[]).includes(m.code) && httpStatusFor(m.code as never) !== m.status)
        .map((m) => `${doc}: "${m.where}" (${m.code} answers ${httpStatusFor(m.code as never)})`),
    );
    expect(wrong).toEqual([]);
  });

  it('can fail: a wrong status is found', () => {
    expect(statusMentions('answers 404 `conflict` or `409 not_found`').map((m) => `${m.status} ${m.code}`)).toEqual(['404 conflict', '409 not_found']);
  });
});
