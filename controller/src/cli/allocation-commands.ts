import { CausewayError, type ErrorCode } from '@causeway/shared';
import type { AdminClient } from './admin-client.ts';
import { show, str, type Output, type Row } from './output.ts';

/** One allocation as a row of `causeway get allocations`. */
export function allocationRow(a: Row): Record<string, string> {
  const error = a.error as Row | null;
  return {
    ID: str(a.id),
    TENANT: str(a.tenant),
    POOL: str(a.pool),
    GATEWAY: str(a.gateway),
    HOST: str(a.host),
    STATE: str(a.state),
    ERROR: error === null ? '-' : str(error.code),
    CREATED: str(a.createdAt).replace(/\.\d+Z$/, 'Z'),
  };
}

/** The step log, one line a step, for the person who has to find out what happened. */
function stepLines(a: Row): string[] {
  const steps = (a.steps as Row[] | undefined) ?? [];
  return steps.map((s) => {
    const attempts = Number(s.attempts) > 1 ? ` after ${str(s.attempts)} attempts` : '';
    const why = s.error === null ? (s.detail === null ? '' : `: ${str(s.detail)}`) : `: ${str(s.error)}`;
    return `  ${str(s.direction).padEnd(4)} ${str(s.step).padEnd(9)} ${str(s.state)}${attempts} (${str(s.controller)})${why}`;
  });
}

interface ErrorAnswer {
  readonly error?: { readonly code?: string; readonly message?: string };
  readonly allocation?: Row;
}

/** An allocation the API answered: printed, or its error with the step log (exit 1). */
function report(io: Output, format: string, status: number, body: Row & ErrorAnswer, done: (a: Row) => string): number {
  const allocation = status < 300 ? body : body.allocation;
  // Refused before any step (no such pool, a bad tenant name, no permission): only the error.
  if (allocation === undefined) throw new CausewayError((body.error?.code ?? 'internal') as ErrorCode, body.error?.message ?? `HTTP ${status}`);
  if (status >= 300) {
    io.err(`error: ${body.error?.message ?? `HTTP ${status}`}`);
    io.err(`allocation ${str(allocation.id)} is ${str(allocation.state)}; its steps:`);
    for (const line of stepLines(allocation)) io.err(line);
    return 1;
  }
  if (format !== 'table') show(io, format, allocation, (items) => items.map(allocationRow));
  else io.out(done(allocation));
  if (allocation.state === 'failed') {
    io.err(`allocation ${str(allocation.id)} failed: ${str((allocation.error as Row | null)?.message)}; its steps:`);
    for (const line of stepLines(allocation)) io.err(line);
    return 1;
  }
  return 0;
}

/** `causeway allocate POOL TENANT [--key KEY]`: a dedicated gateway of the pool for the tenant. */
export async function allocate(client: AdminClient, args: readonly string[], key: string | undefined, format: string, io: Output): Promise<number> {
  const [pool, tenant] = args;
  if (pool === undefined || tenant === undefined) throw new CausewayError('invalid_argument', 'usage: causeway allocate POOL TENANT [--key IDEMPOTENCY-KEY]');
  const answer = await client.exchange<Row & ErrorAnswer>('POST', `/v1/gateway-pools/${encodeURIComponent(pool)}/allocations`, { tenant, ...(key === undefined ? {} : { idempotencyKey: key }) });
  return report(io, format, answer.status, answer.body, (a) => `allocation/${str(a.id)} ${str(a.state)}: tenant ${str(a.tenant)} on gateway ${str(a.gateway)}, host ${str(a.host)}`);
}

/** `causeway release ID`: the allocation's steps undone in reverse, its gateway back in the pool. */
export async function release(client: AdminClient, args: readonly string[], format: string, io: Output): Promise<number> {
  const [id] = args;
  if (id === undefined) throw new CausewayError('invalid_argument', 'usage: causeway release ALLOCATION-ID');
  const answer = await client.exchange<Row & ErrorAnswer>('DELETE', `/v1/allocations/${encodeURIComponent(id)}`);
  if (answer.status === 404) throw new CausewayError('not_found', answer.body.error?.message ?? `allocation "${id}" does not exist`);
  return report(io, format, answer.status, answer.body, (a) => `allocation/${str(a.id)} ${str(a.state)}`);
}
