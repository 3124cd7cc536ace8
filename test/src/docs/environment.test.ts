import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { code, readDoc, section, tableRows } from './markdown.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('gen/'))
    .map((f) => join(root, dir, f));
}

/**
 * The variables code reads: a `'CAUSEWAY_…'` name passed to a reader (`r.integer('CAUSEWAY_X', …)`,
 * `readLabels(reader, 'CAUSEWAY_X')`) or read from the environment (`env.CAUSEWAY_X`).
 * Other strings that start the same way (error codes) are neither.
 */
export function variablesRead(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/[(,]\s*'(CAUSEWAY_[A-Z0-9_]+)'|\benv\.(CAUSEWAY_[A-Z0-9_]+)/g)) names.add(match[1] ?? match[2] ?? '');
  return names;
}

function readBy(...dirs: string[]): string[] {
  const names = new Set<string>();
  for (const file of dirs.flatMap(sources)) for (const name of variablesRead(readFileSync(file, 'utf8'))) names.add(name);
  return [...names].sort();
}

/** The `CAUSEWAY_…` names in the first column of the tables of `markdown`. */
function documented(markdown: string): string[] {
  return [...new Set(tableRows(markdown).flatMap(([first = '']) => code(first) ?? []).filter((name) => name.startsWith('CAUSEWAY_')))].sort();
}

describe('environment variables', () => {
  it('the README configuration tables list exactly the variables the code reads', () => {
    const readme = documented(section(readDoc('README.md'), '## Configuration'));
    const read = readBy('controller/src', 'runtime/src', 'shared/src');
    expect(read.length).toBeGreaterThan(30);
    expect({ missingFromReadme: read.filter((n) => !readme.includes(n)), noLongerRead: readme.filter((n) => !read.includes(n)) }).toEqual({ missingFromReadme: [], noLongerRead: [] });
  });

  it("docs/runtime.md's configuration table lists exactly the variables the runtime reads", () => {
    const table = documented(section(readDoc('docs/runtime.md'), '## Configuration'));
    expect(table).toEqual(readBy('runtime/src'));
  });

  it('can fail: a read is found, an error code that looks like one is not', () => {
    const text = "r.integer('CAUSEWAY_A_MS', 1, 0, 9); readLabels(reader, 'CAUSEWAY_B'); env.CAUSEWAY_C ?? 'x'; readonly code = 'CAUSEWAY_NOT_A_VARIABLE';";
    expect([...variablesRead(text)].sort()).toEqual(['CAUSEWAY_A_MS', 'CAUSEWAY_B', 'CAUSEWAY_C']);
  });
});
