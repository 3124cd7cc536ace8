import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readDoc, section, tableRows } from './markdown.ts';

const root = new URL('../../../', import.meta.url);

/** Metric names the code registers: a quoted `causeway_<app>_…` name (a prefix ending in `_` is not one). */
function registered(app: 'controller' | 'runtime'): string[] {
  const dir = new URL(`${app}/src/`, root);
  const names = new Set<string>();
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    for (const match of readFileSync(new URL(file, dir), 'utf8').matchAll(new RegExp(`'(causeway_${app}_[a-z_]*[a-z])'`, 'g'))) names.add(match[1] ?? '');
  }
  return [...names].sort();
}

/**
 * Metric names in the first column of a section's tables. A cell may shorten a name after
 * a full one: `` `causeway_x_acks_total`, `..._nacks_total` `` is acks and nacks (the
 * shortened one replaces the last two words of the one before it).
 */
export function documentedMetrics(markdown: string): string[] {
  const names = new Set<string>();
  for (const [cell = ''] of tableRows(markdown)) {
    let previous = '';
    for (const match of cell.matchAll(/`([a-z_.]+)(?:\{[^}]*\})?`/g)) {
      const written = match[1] ?? '';
      const name = written.startsWith('..._') ? `${previous.split('_').slice(0, -2).join('_')}_${written.slice(4)}` : written;
      if (name.startsWith('causeway_')) names.add(name);
      previous = name;
    }
  }
  return [...names].sort();
}

describe('metrics', () => {
  it("docs/operations.md's controller table lists exactly the metrics the controller registers", () => {
    expect(documentedMetrics(section(readDoc('docs/operations.md'), '## Controller metrics'))).toEqual(registered('controller'));
  });

  it("docs/runtime.md's table lists exactly the metrics the runtime registers", () => {
    expect(documentedMetrics(section(readDoc('docs/runtime.md'), '## Metrics (`/metrics`, this runtime\'s own registry)'))).toEqual(registered('runtime'));
  });

  it('can fail: shortened names are read in full', () => {
    const table = '| Metric |\n| --- |\n| `causeway_a_acks_total{type}`, `..._nacks_total{type}` |\n| `causeway_b_in_progress`, `..._waiting` |';
    expect(documentedMetrics(table)).toEqual(['causeway_a_acks_total', 'causeway_a_nacks_total', 'causeway_b_in_progress', 'causeway_b_waiting']);
  });
});
