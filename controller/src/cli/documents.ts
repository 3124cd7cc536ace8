import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { CausewayError } from '@causeway/shared';

export interface RawDocument {
  readonly source: string;
  readonly kind: string;
  readonly name: string;
  readonly body: Record<string, unknown>;
}

/** Applied in this order, so that what a document names exists before it is named. */
const applyOrder = ['Gateway', 'GatewayPool', 'Zone', 'Consumer', 'Api'];

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one file of YAML documents (`---` separated) or JSON (an object or a list), each of one of `kinds`. */
export async function readDocuments(file: string, kinds: readonly string[] = applyOrder): Promise<RawDocument[]> {
  const text = await readInput(file);
  const values: unknown[] = [];
  const docs = parseAllDocuments(text);
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error !== undefined) throw new CausewayError('invalid_argument', `${file}: ${error.message}`);
    const value = doc.toJS() as unknown;
    if (Array.isArray(value)) values.push(...(value as unknown[]));
    else if (value !== null && value !== undefined) values.push(value);
  }
  return values.map((value, i) => {
    const source = `${file}#${i + 1}`;
    if (typeof value !== 'object' || value === null) throw new CausewayError('invalid_argument', `${source}: is not an object`);
    const body = value as Record<string, unknown>;
    const metadata = body.metadata as { name?: unknown } | undefined;
    if (typeof body.kind !== 'string' || !kinds.includes(body.kind)) {
      throw new CausewayError('invalid_argument', `${source}: kind ${JSON.stringify(body.kind)} is not ${kinds.length === 1 ? kinds.join('') : `one of ${kinds.join(', ')}`}`);
    }
    if (typeof metadata?.name !== 'string') throw new CausewayError('invalid_argument', `${source}: metadata.name is required`);
    return { source, kind: body.kind, name: metadata.name, body };
  });
}

export function sortForApply(docs: readonly RawDocument[]): RawDocument[] {
  return [...docs].sort((a, b) => applyOrder.indexOf(a.kind) - applyOrder.indexOf(b.kind));
}
