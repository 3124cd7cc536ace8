import { CausewayError } from '@causeway/shared';
import type { AdminClient } from './admin-client.ts';
import { allocationRow } from './allocation-commands.ts';
import { show, str, type Output, type Row } from './output.ts';

const pluralByAlias: Readonly<Record<string, string>> = {
  api: 'apis', apis: 'apis',
  gateway: 'gateways', gateways: 'gateways', gw: 'gateways',
  pool: 'gateway-pools', pools: 'gateway-pools', 'gateway-pool': 'gateway-pools', 'gateway-pools': 'gateway-pools',
  zone: 'zones', zones: 'zones',
  consumer: 'consumers', consumers: 'consumers',
  runtime: 'runtimes', runtimes: 'runtimes',
  controller: 'controllers', controllers: 'controllers',
  allocation: 'allocations', allocations: 'allocations',
};

function plural(alias: string | undefined): string {
  const p = alias === undefined ? undefined : pluralByAlias[alias];
  if (p === undefined) throw new CausewayError('invalid_argument', `unknown kind ${JSON.stringify(alias ?? '')} (one of apis, gateways, pools, zones, consumers, runtimes, controllers, allocations)`);
  return p;
}

function describe(error: unknown): string {
  const e = CausewayError.from(error);
  const message = e.code === 'internal' && e.cause instanceof Error ? e.cause.message : e.message;
  if (e.details.length <= 1) return message;
  return [message.replace(/ \(and \d+ more\)$/, ''), ...e.details.slice(1).map((d) => `  ${d.path}: ${d.message}`)].join('\n');
}

const columns: Readonly<Record<string, (item: Row) => Record<string, string>>> = {
  apis: (i) => {
    const spec = i.spec as Row;
    const up = spec.upstream as Row;
    return { HOSTS: str((spec.hosts as string[]).join(',') || '*'), 'BASE PATH': str(spec.basePath), UPSTREAM: up.pool !== undefined ? `pool/${str(up.pool)}` : `gateway/${str(up.gateway)}` };
  },
  gateways: (i) => ({ URL: str((i.spec as Row).url), ZONE: str((i.spec as Row).zone), HEALTH: str((i.status as Row | undefined)?.health) }),
  'gateway-pools': (i) => {
    const status = (i.status as Row | undefined) ?? {};
    return { MEMBERS: str(((i.spec as Row).members as string[]).join(',') || '-'), HEALTH: str(status.health), STATUS: str(status.status), 'USED BY': str(status.usedByCount), FREE: str(status.freeCount), ALLOCATED: str(status.allocatedCount) };
  },
  zones: (i) => ({ 'DTC URL': str((i.spec as Row).dtcUrl || '-'), ELIGIBLE: str((i.spec as Row).failoverEligible), PRIORITY: str((i.spec as Row).failoverPriority) }),
};

/** `team=shop,env=prod`, or `-` for none. */
const labelList = (labels: unknown): string => Object.entries((labels as Record<string, string> | null | undefined) ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '-';

function rowsFor(kind: string, items: readonly Row[], wide: boolean): Record<string, string>[] {
  if (kind === 'runtimes') {
    return items.map((i) => ({
      NODE: str(i.nodeId), ZONE: str(i.zone), CONTROLLER: str(i.controller), CONNECTED: str(i.connected),
      APPLIED: str(i.appliedRevision), 'LAST NACK': i.lastNack === null ? '-' : `r${str((i.lastNack as Row).revision)}: ${str((i.lastNack as Row).error)}`,
      ...(wide ? { ORG: str(i.org ?? '(shared)'), LABELS: labelList(i.labels), 'CERT EXPIRES': str((i.certificate as Row | null)?.expiresAt) } : {}),
    }));
  }
  if (kind === 'allocations') return items.map(allocationRow);
  if (kind === 'controllers') {
    return items.map((i) => ({ ID: str(i.id), ADMIN: str(i.adminAddress), XDS: str(i.xdsAddress), REVISION: str(i.appliedRevision), RUNTIMES: str(i.connectedRuntimes), HEARTBEAT: str(i.lastHeartbeatAt) }));
  }
  return items.map((i) => {
    const metadata = i.metadata as Row;
    return {
      NAME: str(metadata.name), ...(columns[kind]?.(i) ?? {}), REVISION: str(metadata.revision),
      ...(wide ? { LABELS: labelList(metadata.labels), UPDATED: str(metadata.updatedAt) } : {}),
    };
  });
}

/** A list with every page of it: a list that answers `nextCursor` is read until that is null. */
async function listAll(client: AdminClient, path: string): Promise<Row> {
  const first = (await client.request<Row & { items?: Row[]; nextCursor?: string | null }>('GET', path)).body;
  const items = [...(first.items ?? [])];
  for (let cursor = first.nextCursor; typeof cursor === 'string'; ) {
    const page = (await client.request<{ items?: Row[]; nextCursor?: string | null }>('GET', `${path}?cursor=${encodeURIComponent(cursor)}`)).body;
    items.push(...(page.items ?? []));
    cursor = page.nextCursor;
  }
  const { nextCursor: _last, ...list } = first;
  return { ...list, items };
}

export async function get(client: AdminClient, args: readonly string[], format: string, io: Output): Promise<number> {
  const kind = plural(args[0]);
  const name = args[1];
  const body = name === undefined ? await listAll(client, `/v1/${kind}`) : (await client.request<Row>('GET', `/v1/${kind}/${name}`)).body;
  show(io, format, body, (items, wide) => rowsFor(kind, items, wide));
  return 0;
}

export async function remove(client: AdminClient, args: readonly string[], io: Output): Promise<number> {
  const kind = plural(args[0]);
  const name = args[1];
  if (name === undefined) throw new CausewayError('invalid_argument', 'usage: causeway delete KIND NAME');
  const response = await client.request<{ metadata: { revision: number } }>('DELETE', `/v1/${kind}/${name}`);
  io.out(`${args[0] ?? kind}/${name} deleted (revision ${response.body.metadata.revision})`);
  return 0;
}

export { describe };
