import type { Sql, Tx } from './database.ts';
import { CHANGES_CHANNEL } from './mutate.ts';
import { loadAccess, readAccessEntities, type AccessEntityState, type AccessKind, type AccessModel } from './access-tables.ts';
import { kinds, recordKey, type EntityState, type Kind, type StoredRecord } from './records.ts';
import { tables, type EntityKey } from './tables.ts';

const kindByChangeKind: Readonly<Record<string, Kind>> = {
  api: 'Api',
  consumer: 'Consumer',
  gateway: 'Gateway',
  gateway_pool: 'GatewayPool',
  zone: 'Zone',
};

/** What one read of the change log found, as of the database revision `revision`. */
export type ChangeLogRead =
  /** Nothing was committed after the revision asked about. */
  | { readonly type: 'current'; readonly revision: number }
  /** Everything, because nothing was loaded yet or the log no longer reaches back far enough (pruned). */
  | { readonly type: 'full'; readonly revision: number; readonly records: readonly StoredRecord[]; readonly access: AccessModel; readonly hopKey: Uint8Array }
  /** The entities changed since the revision asked about, as they now are, and when each revision was committed. */
  | {
      readonly type: 'changes';
      readonly revision: number;
      readonly entities: readonly EntityState[];
      readonly access: readonly AccessEntityState[];
      readonly commits: readonly { readonly revision: number; readonly committedAt: Date }[];
    };

interface ChangeRow {
  kind: string;
  org_id: string;
  name: string;
  revision: number;
  changed_at: Date;
}

/**
 * One consistent read (a repeatable-read transaction) of what was committed after
 * `applied`: everything when `applied` is undefined (nothing loaded yet) or was pruned
 * from the log. Changed entities are read with one query per kind, however many changed.
 */
export function readChangesSince(sql: Sql, applied: number | undefined): Promise<ChangeLogRead> {
  return sql.begin('ISOLATION LEVEL REPEATABLE READ READ ONLY', async (tx): Promise<ChangeLogRead> => {
    const [state] = await tx<{ revision: number; pruned_through: number; hop_key: Buffer }[]>`SELECT revision, pruned_through, hop_key FROM config_state`;
    if (state === undefined) throw new Error('config_state row is missing');
    const { revision } = state;
    if (applied !== undefined && revision <= applied) return { type: 'current', revision };
    if (applied === undefined || state.pruned_through > applied) {
      const [records, access] = await Promise.all([
        Promise.all(kinds.map((kind) => tables[kind].list(tx))).then((lists) => lists.flat() as StoredRecord[]),
        loadAccess(tx),
      ]);
      return { type: 'full', revision, records, access, hopKey: new Uint8Array(state.hop_key) };
    }
    const rows = await tx<ChangeRow[]>`
      SELECT kind, org_id, name, revision, changed_at FROM config_changes
      WHERE revision > ${applied} AND revision <= ${revision} ORDER BY revision, seq`;
    const [entities, access] = await Promise.all([readEntities(tx, rows), readAccessEntities(tx, accessNamed(rows))]);
    return { type: 'changes', revision, entities, access, commits: commitsOf(rows) };
  });
}

const accessKinds: ReadonlySet<string> = new Set<AccessKind>(['org', 'role', 'token', 'revocation']);

/** The orgs, roles and tokens the log names, each once. */
function accessNamed(rows: readonly ChangeRow[]): { kind: AccessKind; org: string; name: string }[] {
  const named = new Map<string, { kind: AccessKind; org: string; name: string }>();
  for (const row of rows) {
    if (!accessKinds.has(row.kind)) continue;
    named.set(`${row.kind}\u0000${row.org_id}\u0000${row.name}`, { kind: row.kind as AccessKind, org: row.org_id, name: row.name });
  }
  return [...named.values()];
}

function commitsOf(rows: readonly ChangeRow[]): { revision: number; committedAt: Date }[] {
  const commits: { revision: number; committedAt: Date }[] = [];
  for (const row of rows) if (commits.at(-1)?.revision !== row.revision) commits.push({ revision: row.revision, committedAt: row.changed_at });
  return commits;
}

/** Each entity named by the log once (in the order first named), as it now is: one query per kind. */
async function readEntities(tx: Tx, rows: readonly ChangeRow[]): Promise<EntityState[]> {
  const named = new Map<string, EntityKey & { kind: Kind }>();
  for (const row of rows) {
    const kind = kindByChangeKind[row.kind];
    if (kind === undefined) continue;
    // Zones are logged with the org that wrote them but stored (and modelled) without one.
    const org = kind === 'Zone' ? '' : row.org_id;
    const key = `${kind}\u0000${org}\u0000${row.name}`;
    if (!named.has(key)) named.set(key, { kind, org, name: row.name });
  }
  const byKind = new Map<Kind, EntityKey[]>();
  for (const entity of named.values()) {
    const keys = byKind.get(entity.kind);
    if (keys === undefined) byKind.set(entity.kind, [entity]);
    else keys.push(entity);
  }
  // Sent without waiting for each answer: pipelined on the transaction's connection.
  const found = await Promise.all([...byKind].map(async ([kind, keys]) => ({ kind, records: await tables[kind].getMany(tx, keys) })));
  const records = new Map<string, StoredRecord>();
  for (const { kind, records: list } of found) for (const record of list) records.set(`${kind}\u0000${recordKey(record.org, record.name)}`, record);
  return [...named.values()].map((e) => ({ ...e, record: records.get(`${e.kind}\u0000${recordKey(e.org, e.name)}`) }));
}

/**
 * Listens for change notifications. `onConnect` runs on every (re)connect of the LISTEN
 * connection, when notifications may have been missed. Resolves with a function that stops.
 */
export async function listenForChanges(sql: Sql, onPayload: (payload: string) => void, onConnect: () => void): Promise<() => Promise<void>> {
  const listener = await sql.listen(CHANGES_CHANNEL, onPayload, onConnect);
  return listener.unlisten;
}

/** Sends `payload` on the change channel through the pool: it must come back on the LISTEN connection. */
export async function sendChangeProbe(sql: Sql, payload: string): Promise<void> {
  await sql`SELECT pg_notify(${CHANGES_CHANNEL}, ${payload})`;
}
