import { CausewayError } from '@causeway/shared';
import type { Kind, Labels, SpecByKind } from './records.ts';

/** One resource of a many-resource write. */
export interface PutItem {
  readonly kind: Kind;
  readonly name: string;
  readonly labels: Labels;
  readonly spec: SpecByKind[Kind];
  /** Where the caller had it (errors name `items[index]`); its position by default. */
  readonly index?: number;
}

/** An item's error, saying which item: `items[3] (API "orders"): …`, with field paths under `items[3].`. */
export function inItem(index: number, item: { readonly kind: Kind; readonly name: string }, error: unknown): unknown {
  if (!(error instanceof CausewayError)) return error;
  const prefix = `items[${index}]`;
  return new CausewayError(error.code, `${prefix} (${what[item.kind]} "${item.name}"): ${error.message}`, {
    cause: error.cause,
    details: error.details.map((d) => ({ ...d, path: `${prefix}.${d.path}` })),
  });
}

export const what: Readonly<Record<Kind, string>> = {
  Api: 'API',
  Consumer: 'consumer',
  Gateway: 'gateway',
  GatewayPool: 'gateway pool',
  Zone: 'zone',
};
