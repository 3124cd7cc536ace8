import { CausewayError } from '@causeway/shared';
import type { AdminClient } from './admin-client.ts';
import type { RawDocument } from './documents.ts';

/** `-l team=shop,env=prod`: every label must match. */
export type Selector = Readonly<Record<string, string>>;

/** A stored resource the selector owns and the file no longer has. */
export interface Owned {
  readonly kind: string;
  readonly plural: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Deleted in this order: what names another resource goes before what it names. */
const pruneOrder: readonly (readonly [kind: string, plural: string])[] = [
  ['Api', 'apis'],
  ['Consumer', 'consumers'],
  ['Zone', 'zones'],
  ['GatewayPool', 'gateway-pools'],
  ['Gateway', 'gateways'],
];

export function parseSelector(raw: string): Selector {
  const selector: Record<string, string> = {};
  for (const part of raw.split(',')) {
    const match = /^([^=\s]+)=([^=\s]*)$/.exec(part.trim());
    if (match === null) throw new CausewayError('invalid_argument', `-l: ${JSON.stringify(part)} is not KEY=VALUE`);
    selector[match[1] as string] = match[2] as string;
  }
  return selector;
}

/** The resources of every kind whose labels match `selector` and that `docs` do not name. */
export async function pruneCandidates(client: AdminClient, selector: Selector, docs: readonly RawDocument[]): Promise<Owned[]> {
  const inFile = new Set(docs.map((d) => `${d.kind}/${d.name}`));
  const owned: Owned[] = [];
  for (const [kind, plural] of pruneOrder) {
    const list = await client.request<{ items: { metadata: { name: string; labels?: Record<string, string> } }[] }>('GET', `/v1/${plural}`);
    for (const { metadata } of list.body.items) {
      const labels = metadata.labels ?? {};
      if (inFile.has(`${kind}/${metadata.name}`)) continue;
      if (Object.entries(selector).every(([key, value]) => labels[key] === value)) owned.push({ kind, plural, name: metadata.name, labels });
    }
  }
  return owned;
}
