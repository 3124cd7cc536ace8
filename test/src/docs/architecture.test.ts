import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { code, readDoc, section, tableRows } from './markdown.ts';

const root = new URL('../../../', import.meta.url);
const architecture = readDoc('docs/architecture.md');

/** The names in backticks in the first column of a section's tables (`a`, `b` → a, b). */
function firstColumn(markdown: string): string[] {
  return tableRows(markdown).flatMap(([first = '']) => [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ''));
}

describe('docs/architecture.md', () => {
  it('lists every table the migrations create, and no other', () => {
    const dir = new URL('controller/src/store/migrations/', root);
    const sql = readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .map((f) => readFileSync(new URL(f, dir), 'utf8'))
      .join('\n');
    const migrate = readFileSync(new URL('controller/src/store/migrate.ts', root), 'utf8');
    const created = [...`${sql}\n${migrate}`.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)/gi)].map((m) => m[1] ?? '');
    expect(created.length).toBeGreaterThan(10);
    expect(firstColumn(section(architecture, '## State (PostgreSQL)')).sort()).toEqual([...new Set(created)].sort());
  });

  it('has a code map line for every source folder, naming only what exists', () => {
    const named = firstColumn(section(architecture, '## Code map'));
    expect(named.filter((path) => !existsSync(new URL(path, root)))).toEqual([]);
    const folders = ['controller/src', 'runtime/src', 'shared/src'].flatMap((app) =>
      readdirSync(new URL(`${app}/`, root), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => `${app}/${entry.name}/`),
    );
    expect(folders.filter((folder) => !named.includes(folder))).toEqual([]);
  });
});

describe('the docs tables helper', () => {
  it('reads cells and the code in them', () => {
    expect(tableRows('| a | b |\n| --- | --- |\n| `x` (y) | z |\n\ntext\n| c |\n| - |\n| d |')).toEqual([['`x` (y)', 'z'], ['d']]);
    expect(code('`x` (y)')).toBe('x');
  });
});
