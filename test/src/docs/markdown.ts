import { readFileSync } from 'node:fs';

const root = new URL('../../../', import.meta.url);

/** A file of the repository, by its path from the root (`docs/admin-api.md`). */
export function readDoc(path: string): string {
  return readFileSync(new URL(path, root), 'utf8');
}

/** The text under a heading (`### Gateway`), up to the next heading of the same or a higher level. */
export function section(markdown: string, heading: string): string {
  const level = /^#+/.exec(heading)?.[0].length ?? 0;
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  if (start === -1) throw new Error(`no heading "${heading}"`);
  const end = lines.findIndex((line, i) => i > start && /^#+ /.test(line) && (/^#+/.exec(line)?.[0].length ?? 0) <= level);
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/** The rows of every table in `markdown`, each as its cells (header and separator rows left out). */
export function tableRows(markdown: string): string[][] {
  const rows: string[][] = [];
  let inTable = false;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const cells = line.slice(1, line.endsWith('|') ? -1 : undefined).split('|').map((c) => c.trim());
    // The first row of a table is its header; the second its separator.
    if (!inTable || cells.every((c) => /^:?-+:?$/.test(c))) {
      inTable = true;
      continue;
    }
    rows.push(cells);
  }
  return rows;
}

/** The text between the first pair of backticks of a cell: `` `x` (required) `` → `x`. */
export function code(cell: string): string | undefined {
  return /`([^`]*)`/.exec(cell)?.[1];
}
