import { setTimeout as delay } from 'node:timers/promises';
import { CausewayError } from '@causeway/shared';
import type { AdminClient } from './admin-client.ts';
import { show, str, type Output, type Row } from './output.ts';

interface RuntimeDeployment {
  nodeId: string;
  zone: string;
  controller: string | null;
  state: 'acked' | 'nacked' | 'pending';
  error?: string;
}

interface DeploymentStatus {
  api: string;
  revision: number;
  summary: { total: number; acked: number; nacked: number; pending: number };
  runtimes: RuntimeDeployment[];
}

const DEFAULT_TIMEOUT_MS = 60_000;
const POLL_MS = 200;
const stateWords = { acked: 'applied', nacked: 'rejected', pending: 'pending' } as const;

/** `--timeout 60s`: ms, s or m; a bare number is seconds. */
function timeoutMs(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_TIMEOUT_MS;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw);
  const unit = match?.[2] ?? 's';
  const ms = match === null ? Number.NaN : Number(match[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1_000 : 60_000);
  if (!(ms > 0)) throw new CausewayError('invalid_argument', `--timeout: ${JSON.stringify(raw)} is not a duration like 500ms, 60s or 2m`);
  return ms;
}

const statusOf = async (client: AdminClient, api: string): Promise<DeploymentStatus> =>
  (await client.request<DeploymentStatus>('GET', `/v1/apis/${encodeURIComponent(api)}/status`)).body;

/**
 * Until every runtime targeted by each API applied its current revision. A rejection
 * fails at once, with the runtime's message; runtimes still silent at the deadline fail too.
 */
export async function waitForApis(client: AdminClient, apis: readonly string[], timeout: string | undefined, io: Output): Promise<number> {
  const deadline = Date.now() + timeoutMs(timeout);
  let waiting = [...apis];
  for (;;) {
    const statuses = await Promise.all(waiting.map((api) => statusOf(client, api)));
    waiting = [];
    for (const status of statuses) {
      const rejected = status.runtimes.filter((r) => r.state === 'nacked');
      for (const r of rejected) io.err(`error: api/${status.api} revision ${status.revision} rejected by runtime ${r.nodeId} (zone ${r.zone}): ${r.error ?? 'no reason given'}`);
      if (rejected.length > 0) return 1;
      if (status.summary.pending > 0) waiting.push(status.api);
      else io.out(`api/${status.api} revision ${status.revision} applied by ${status.summary.acked} runtime(s)`);
    }
    if (waiting.length === 0) return 0;
    if (Date.now() >= deadline) {
      for (const status of statuses.filter((s) => waiting.includes(s.api))) {
        const silent = status.runtimes.filter((r) => r.state === 'pending').map((r) => r.nodeId);
        io.err(`error: api/${status.api} revision ${status.revision}: no answer in time from runtime(s) ${silent.join(', ')}`);
      }
      return 1;
    }
    await delay(POLL_MS);
  }
}

function apiName(args: readonly string[], usage: string): string {
  const [kind, name] = args;
  if ((kind !== 'api' && kind !== 'apis') || name === undefined) throw new CausewayError('invalid_argument', `usage: ${usage}`);
  return name;
}

/** `causeway rollback api NAME [--to REVISION] [--wait]`: an earlier revision's spec, written as a new revision. */
export async function rollback(client: AdminClient, args: readonly string[], flags: { to?: string | undefined; wait?: boolean | undefined; timeout?: string | undefined }, io: Output): Promise<number> {
  const name = apiName(args, 'causeway rollback api NAME [--to REVISION] [--wait [--timeout 60s]]');
  const to = flags.to === undefined ? undefined : Number(flags.to);
  if (to !== undefined && (!Number.isInteger(to) || to < 1)) throw new CausewayError('invalid_argument', `--to: ${JSON.stringify(flags.to)} is not a revision number`);
  const response = await client.request<Row & { metadata: Row; status: Row }>('POST', `/v1/apis/${encodeURIComponent(name)}/rollback`, to === undefined ? undefined : { revision: to });
  io.out(`api/${name} rolled back to revision ${str(response.body.status.restoredRevision)} (revision ${str(response.body.metadata.revision)})`);
  return flags.wait === true ? waitForApis(client, [name], flags.timeout, io) : 0;
}

/** `causeway status api NAME`: what each targeted runtime did with the API's current revision. */
export async function status(client: AdminClient, args: readonly string[], format: string, io: Output): Promise<number> {
  const name = apiName(args, 'causeway status api NAME [-o table|wide|json|yaml]');
  const response = await client.request<DeploymentStatus & Row>('GET', `/v1/apis/${encodeURIComponent(name)}/status`);
  const body = response.body;
  if (format !== 'table' && format !== 'wide') {
    show(io, format, body, () => []);
    return 0;
  }
  const { acked, nacked, pending } = body.summary;
  io.out(`api/${name} revision ${body.revision}: ${acked} applied, ${nacked} rejected, ${pending} pending`);
  const rows = body.runtimes.map((r) => ({ RUNTIME: r.nodeId, ZONE: r.zone, CONTROLLER: str(r.controller), STATE: stateWords[r.state], MESSAGE: r.error ?? '-' }));
  show(io, format, { items: [] }, () => rows);
  return 0;
}
