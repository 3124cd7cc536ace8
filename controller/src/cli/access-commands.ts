import { CausewayError } from '@causeway/shared';
import type { AdminClient } from './admin-client.ts';
import { readDocuments } from './documents.ts';
import { show, str, type Output, type Row } from './output.ts';

/** The flags the org, token and role commands read. */
export interface AccessFlags {
  readonly output: string;
  readonly file?: string | undefined;
  readonly role?: string | undefined;
  readonly expires?: string | undefined;
  readonly permission?: readonly string[] | undefined;
}

interface Revised {
  readonly metadata: { readonly revision: number };
}

const segment = encodeURIComponent;
const TOKEN_ID = /^tok_[0-9a-f]{16}$/;
const secondsOf = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

function usage(line: string): CausewayError {
  return new CausewayError('invalid_argument', `usage: ${line}`);
}

/** A time as the API gives it, to the second. */
function when(value: unknown): string {
  return typeof value === 'string' ? value.replace(/\.\d+Z$/, 'Z') : '-';
}

/** `--expires 24h|90d|never`: seconds, `null` for never, or undefined for the server's default (90 days). */
function expiresInSeconds(raw: string | undefined): { expiresInSeconds?: number | null } {
  if (raw === undefined) return {};
  if (raw === 'never') return { expiresInSeconds: null };
  const match = /^(\d{1,9})([smhd])$/.exec(raw);
  if (match === null) throw new CausewayError('invalid_argument', `--expires: ${JSON.stringify(raw)} is not a duration like 30m, 24h, 90d, or never`);
  return { expiresInSeconds: Number(match[1]) * secondsOf[match[2] as keyof typeof secondsOf] };
}

/**
 * A new token's secret alone on stdout (so `$(causeway tokens create …)` captures it), or the
 * whole answer with `-o json`; the warning goes to stderr, for the person at the terminal.
 */
function printSecret(created: Row & { token: string }, format: string, io: Output): void {
  io.out(format === 'json' ? JSON.stringify(created, null, 2) : created.token);
  const role = created.role === null ? `heartbeats of gateway "${str(created.gateway)}"` : `role ${str(created.role)}`;
  io.err(`token ${str(created.id)} "${str(created.name)}" (${role}) created, expires ${created.expiresAt === null ? 'never' : when(created.expiresAt)}.`);
  io.err('Store the secret now: it is not shown again, and the controller keeps only its digest.');
}

export async function orgs(client: AdminClient, args: readonly string[], flags: AccessFlags, io: Output): Promise<number> {
  const [verb = 'get', name] = args;
  if (verb === 'get') {
    const response = await client.request<Row & { items: Row[] }>('GET', '/v1/orgs');
    show(io, flags.output, response.body, (items) => items.map((i) => {
      const m = i.metadata as Row;
      return { NAME: str(m.name), 'CREATED BY': str(m.createdBy), CREATED: when(m.createdAt), REVISION: str(m.revision) };
    }));
    return 0;
  }
  if (name === undefined || (verb !== 'create' && verb !== 'delete')) throw usage('causeway orgs get | create NAME | delete NAME');
  const response = verb === 'create'
    ? await client.request<Revised>('POST', '/v1/orgs', { name })
    : await client.request<Revised>('DELETE', `/v1/orgs/${segment(name)}`);
  io.out(`org/${name} ${verb}d (revision ${response.body.metadata.revision})`);
  return 0;
}

const tokenRows = (items: readonly Row[]): Record<string, string>[] => items.map((t) => ({
  ID: str(t.id),
  NAME: str(t.name),
  ROLE: t.role === null ? `(gateway ${str(t.gateway)})` : str(t.role),
  STATE: str(t.state),
  'CREATED BY': str(t.createdBy),
  EXPIRES: t.expiresAt === null ? 'never' : when(t.expiresAt),
  'LAST USED': when(t.lastUsedAt),
}));

/** A token's id, or the id of the org's one live token of that name. */
async function tokenId(client: AdminClient, idOrName: string): Promise<string> {
  if (TOKEN_ID.test(idOrName)) return idOrName;
  const { items } = (await client.request<{ items: Row[] }>('GET', '/v1/tokens')).body;
  const live = items.find((t) => t.name === idOrName && t.state === 'active' && t.gateway === null);
  if (live === undefined) throw new CausewayError('not_found', `no active token named "${idOrName}" (causeway tokens get lists them)`);
  return str(live.id);
}

export async function tokens(client: AdminClient, args: readonly string[], flags: AccessFlags, io: Output): Promise<number> {
  const [verb = 'get', name] = args;
  if (verb === 'get') {
    show(io, flags.output, (await client.request<Row & { items: Row[] }>('GET', '/v1/tokens')).body, tokenRows);
    return 0;
  }
  if (verb === 'create' && name !== undefined && flags.role !== undefined) {
    const body = { name, role: flags.role, ...expiresInSeconds(flags.expires) };
    printSecret((await client.request<Row & { token: string }>('POST', '/v1/tokens', body)).body, flags.output, io);
    return 0;
  }
  if (verb === 'revoke' && name !== undefined) {
    const revoked = (await client.request<Row>('DELETE', `/v1/tokens/${segment(await tokenId(client, name))}`)).body;
    io.out(`token ${str(revoked.id)} "${str(revoked.name)}" revoked`);
    return 0;
  }
  throw usage('causeway tokens get | create NAME --role ROLE [--expires 90d|never] | revoke ID|NAME');
}

/** `gateway-pools:read,attach` → `{"subject": "gateway-pools", "actions": ["read", "attach"]}`. */
function permissionOf(flag: string): { subject: string; actions: string[] } {
  const [subject = '', actions = ''] = flag.split(':', 2);
  if (subject === '' || actions === '') throw new CausewayError('invalid_argument', `--permission: ${JSON.stringify(flag)} is not SUBJECT:ACTION[,ACTION…] (like gateway-pools:read,attach)`);
  return { subject, actions: actions.split(',') };
}

const permissionsText = (permissions: unknown): string =>
  ((permissions ?? []) as { subject: string; actions: string[] }[]).map((p) => `${p.subject}:${p.actions.join(',')}`).join(' ');

function roleRows(items: readonly Row[], one: boolean): Record<string, string>[] {
  const specOf = (r: Row): { permissions: { subject: string; actions: string[] }[] } => r.spec as { permissions: { subject: string; actions: string[] }[] };
  if (one) return items.flatMap((r) => specOf(r).permissions.map((p) => ({ SUBJECT: p.subject, ACTIONS: p.actions.join(',') })));
  return items.map((r) => {
    const m = r.metadata as Row;
    return { NAME: str(m.name), 'BUILT-IN': str(m.builtIn), PERMISSIONS: permissionsText(specOf(r).permissions), REVISION: str(m.revision) };
  });
}

async function putRole(client: AdminClient, name: string, body: unknown, io: Output): Promise<void> {
  const response = await client.request<Revised>('PUT', `/v1/roles/${segment(name)}`, body);
  io.out(`role/${name} ${response.status === 201 ? 'created' : 'updated'} (revision ${response.body.metadata.revision})`);
}

export async function roles(client: AdminClient, args: readonly string[], flags: AccessFlags, io: Output): Promise<number> {
  const [verb = 'get', name] = args;
  if (verb === 'get') {
    const response = await client.request<Row & { items?: Row[] }>('GET', name === undefined ? '/v1/roles' : `/v1/roles/${segment(name)}`);
    show(io, flags.output, response.body, (items) => roleRows(items, name !== undefined));
    return 0;
  }
  // One PUT per role: each is its own write, in the order of the file.
  if (verb === 'apply' && flags.file !== undefined) {
    for (const doc of await readDocuments(flags.file, ['Role'])) await putRole(client, doc.name, doc.body, io);
    return 0;
  }
  if (verb === 'set' && name !== undefined && (flags.permission ?? []).length > 0) {
    await putRole(client, name, { permissions: (flags.permission ?? []).map(permissionOf) }, io);
    return 0;
  }
  if (verb === 'delete' && name !== undefined) {
    const response = await client.request<Revised>('DELETE', `/v1/roles/${segment(name)}`);
    io.out(`role/${name} deleted (revision ${response.body.metadata.revision})`);
    return 0;
  }
  throw usage('causeway roles get [NAME] | apply -f FILE | set NAME --permission SUBJECT:ACTION[,ACTION…]… | delete NAME');
}

/** `causeway gateways token GATEWAY`: a token that may only send that gateway's heartbeats. */
/** `causeway consumers keys get|create|revoke CONSUMER [ID]`: a new key's secret is printed once. */
export async function consumers(client: AdminClient, args: readonly string[], flags: AccessFlags, io: Output): Promise<number> {
  const [noun, verb, name, id] = args;
  if (noun !== 'keys' || name === undefined || (verb === 'revoke' && id === undefined)) throw usage('causeway consumers keys get|create|revoke CONSUMER [ID]   (causeway get consumers lists them)');
  const path = `/v1/consumers/${segment(name)}/keys`;
  if (verb === 'create') {
    const created = (await client.request<Row & { secret: string }>('POST', path, {})).body;
    io.out(flags.output === 'json' ? JSON.stringify(created, null, 2) : created.secret);
    io.err(`key ${str(created.id)} of consumer "${name}" created. Store the secret now: it is not shown again, and the controller keeps only its digest.`);
    return 0;
  }
  if (verb === 'revoke') {
    await client.request('DELETE', `${path}/${segment(id ?? '')}`);
    io.err(`key ${str(id)} of consumer "${name}" revoked.`);
    return 0;
  }
  if (verb !== 'get') throw usage('causeway consumers keys get|create|revoke CONSUMER [ID]');
  const response = await client.request<Row & { items: Row[] }>('GET', path);
  show(io, flags.output, response.body, (items) => items.map((i) => ({ ID: str(i.id), NAME: str(i.name), CREATED: str(i.createdAt), REVOKED: str(i.revokedAt ?? '-') })));
  return 0;
}

export async function gateways(client: AdminClient, args: readonly string[], flags: AccessFlags, io: Output): Promise<number> {
  const [verb, name] = args;
  if (verb !== 'token' || name === undefined) throw usage('causeway gateways token GATEWAY [--expires 90d|never]   (causeway get gateways lists them)');
  const created = await client.request<Row & { token: string }>('POST', `/v1/gateways/${segment(name)}/tokens`, expiresInSeconds(flags.expires));
  printSecret(created.body, flags.output, io);
  return 0;
}
