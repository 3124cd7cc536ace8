import type { Kind, StoredRecord } from '../store/records.ts';
import { API_VERSION } from './validate.ts';

/** URL segment of each kind. */
export const pluralOf: Readonly<Record<Kind, string>> = {
  Api: 'apis',
  Consumer: 'consumers',
  Gateway: 'gateways',
  GatewayPool: 'gateway-pools',
  Zone: 'zones',
};

export const kindOfPlural: ReadonlyMap<string, Kind> = new Map(
  Object.entries(pluralOf).map(([kind, plural]) => [plural, kind as Kind]),
);

/** A stored record in the envelope operators read and write. */
export function toDocument(record: StoredRecord) {
  return {
    apiVersion: API_VERSION,
    kind: record.kind,
    metadata: {
      name: record.name,
      labels: record.labels,
      revision: record.revision,
      createdAt: record.createdAt.toISOString(),
      updatedAt: record.updatedAt.toISOString(),
    },
    spec: record.spec,
  };
}

export function etag(revision: number): string {
  return `"${revision}"`;
}

/** The revision in an If-Match header (`"12"`, `W/"12"` or `12`); undefined when absent. */
export function parseIfMatch(header: string | undefined): number | undefined | 'invalid' {
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(header.trim());
  return match?.[1] === undefined ? 'invalid' : Number(match[1]);
}
