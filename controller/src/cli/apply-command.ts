import { CausewayError } from '@causeway/shared';
import type { AdminClient } from './admin-client.ts';
import { describe } from './commands.ts';
import { waitForApis } from './deploy-commands.ts';
import { readDocuments, sortForApply, type RawDocument } from './documents.ts';
import { str, type Output } from './output.ts';
import { parseSelector, pruneCandidates, type Owned, type Selector } from './prune.ts';

interface ApplyItem {
  kind: string;
  name: string;
  result: 'created' | 'updated' | 'unchanged';
  revision: number;
  changes?: { field: string; before: unknown; after: unknown }[];
}

interface ApplyResult {
  revision: number | null;
  items: ApplyItem[];
}

export interface ApplyFlags {
  readonly file?: string | undefined;
  readonly prune?: boolean | undefined;
  readonly selector?: string | undefined;
  readonly wait?: boolean | undefined;
  readonly timeout?: string | undefined;
}

/** The file and, with --prune, the selector it owns (refused without one: it would prune everything). */
function plan(flags: ApplyFlags, command: string): { file: string; selector: Selector | undefined } {
  if (flags.file === undefined) throw new CausewayError('invalid_argument', `${command}: -f FILE is required`);
  if (flags.prune === true && flags.selector === undefined) {
    throw new CausewayError('invalid_argument', `${command}: --prune needs -l KEY=VALUE[,KEY=VALUE]: the labels of what the file owns`);
  }
  return { file: flags.file, selector: flags.prune === true && flags.selector !== undefined ? parseSelector(flags.selector) : undefined };
}

/**
 * Every document of the file as one write (`POST /v1/apply`, or its dry run): all are
 * applied at one revision, or none is and each problem is printed with the document it is
 * about (then the answer is undefined).
 */
async function send(client: AdminClient, docs: readonly RawDocument[], dryRun: boolean, io: Output): Promise<ApplyResult | undefined> {
  try {
    return (await client.request<ApplyResult>('POST', `/v1/apply${dryRun ? '?dryRun=true' : ''}`, { items: docs.map((d) => d.body) })).body;
  } catch (error) {
    const e = CausewayError.from(error);
    const byItem = new Map<number, string[]>();
    for (const detail of e.details) {
      const match = /^items\[(\d+)\]\.(.*)$/.exec(detail.path);
      if (match === null) continue;
      const index = Number(match[1]);
      byItem.set(index, [...(byItem.get(index) ?? []), `${match[2]}: ${detail.message}`]);
    }
    const only = /^items\[(\d+)\] \([^)]*\): (.*)$/s.exec(e.message);
    if (byItem.size === 0 && only !== null) byItem.set(Number(only[1]), [only[2] ?? e.message]);
    if (byItem.size === 0) throw error;
    for (const [index, problems] of [...byItem].sort((x, y) => x[0] - y[0])) {
      const doc = docs[index];
      const label = doc === undefined ? `items[${index}]` : `${doc.kind.toLowerCase()}/${doc.name} (${doc.source})`;
      io.err(`error: ${label}: ${problems.join(`\n  `)}`);
    }
    io.err('nothing was applied');
    return undefined;
  }
}

const json = (v: unknown): string => (v === null || v === undefined ? '(none)' : JSON.stringify(v));

/**
 * `causeway apply -f FILE [--prune -l SELECTOR] [--wait [--timeout 60s]]`: the file as one
 * write; then what the selector owns and the file no longer has is deleted (APIs first,
 * so that what they name is free); then, with --wait, each API of the file is waited for.
 */
export async function apply(client: AdminClient, flags: ApplyFlags, io: Output): Promise<number> {
  const { file, selector } = plan(flags, 'apply');
  const docs = sortForApply(await readDocuments(file));
  const response = await send(client, docs, false, io);
  if (response === undefined) return 1;
  for (const item of response.items) io.out(`${item.kind.toLowerCase()}/${item.name} ${item.result} (revision ${item.revision})`);
  if (selector !== undefined) {
    for (const owned of await pruneCandidates(client, selector, docs)) {
      const deleted = await client.request<{ metadata: { revision: number } }>('DELETE', `/v1/${owned.plural}/${owned.name}`);
      io.out(`${owned.kind.toLowerCase()}/${owned.name} deleted (revision ${deleted.body.metadata.revision})`);
    }
  }
  if (flags.wait !== true) return 0;
  return waitForApis(client, docs.filter((d) => d.kind === 'Api').map((d) => d.name), flags.timeout, io);
}

function printDiff(items: readonly ApplyItem[], pruned: readonly Owned[], io: Output): void {
  for (const item of items) {
    const label = `${item.kind.toLowerCase()}/${item.name}`;
    if (item.result !== 'updated') {
      io.out(`${label} ${item.result}`);
      continue;
    }
    io.out(`${label} changed`);
    for (const change of item.changes ?? []) io.out(`  ${change.field}: ${json(change.before)} -> ${json(change.after)}`);
  }
  for (const owned of pruned) io.out(`${owned.kind.toLowerCase()}/${owned.name} deleted (not in the file; labels ${str(owned.labels)})`);
}

/**
 * `causeway diff -f FILE [--prune -l SELECTOR]`: what apply would change, as the server
 * would store it (its dry run: defaults and normalisation are the server's). Exit code 1
 * when something would change, 0 when nothing would, 2 when it cannot tell.
 */
export async function diff(connect: () => AdminClient, flags: ApplyFlags, io: Output): Promise<number> {
  try {
    const { file, selector } = plan(flags, 'diff');
    const client = connect();
    const docs = sortForApply(await readDocuments(file));
    const response = await send(client, docs, true, io);
    if (response === undefined) return 2;
    const pruned = selector === undefined ? [] : await pruneCandidates(client, selector, docs);
    printDiff(response.items, pruned, io);
    return pruned.length > 0 || response.items.some((i) => i.result !== 'unchanged') ? 1 : 0;
  } catch (error) {
    io.err(`error: ${describe(error)}`);
    return 2;
  }
}
