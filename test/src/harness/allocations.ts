import { request } from 'undici';
import { expect } from 'vitest';
import { call, type HttpResult } from './http.ts';
import type { RuntimeProcess, UpstreamProcess } from './processes.ts';

/** The tenants' domain of the controllers of these tests (the default). */
export const TENANT_DOMAIN = 'tenants.localhost';

/** Controller settings for allocation tests: a short lease so a dead replica's work is taken over fast. */
export function allocationEnv(leaseMs: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    CAUSEWAY_ALLOCATION_LEASE_MS: String(leaseMs),
    CAUSEWAY_ALLOCATION_CONVERGE_TIMEOUT_MS: '3000',
    CAUSEWAY_ALLOCATION_HANDSHAKE_TIMEOUT_MS: '1000',
    ...extra,
  };
}

/** A gateway for each upstream (`gw-<upstream name>`), then a pool of them. */
export async function poolOf(adminUrl: string, pool: string, upstreams: readonly UpstreamProcess[]): Promise<string[]> {
  const names = upstreams.map((u) => `gw-${u.name}`);
  for (const [i, u] of upstreams.entries()) {
    const response = await call(adminUrl, 'PUT', `/v1/gateways/${names[i] ?? ''}`, { spec: { url: u.url } });
    expect(response.status, response.text).toBeLessThan(300);
  }
  const response = await call(adminUrl, 'PUT', `/v1/gateway-pools/${pool}`, { spec: { members: names } });
  expect(response.status, response.text).toBeLessThan(300);
  return names;
}

export function allocate(adminUrl: string, pool: string, tenant: string, idempotencyKey?: string): Promise<HttpResult> {
  return call(adminUrl, 'POST', `/v1/gateway-pools/${pool}/allocations`, { tenant, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) }, { timeoutMs: 60_000 });
}

export interface PoolCounts {
  readonly freeCount: number;
  readonly allocatedCount: number;
  readonly quarantinedCount: number;
}

/** What the pool list says of a pool's members, as allocations see them. */
export async function poolCounts(adminUrl: string, pool: string): Promise<PoolCounts> {
  const response = await call(adminUrl, 'GET', '/v1/gateway-pools');
  const found = response.body.items.find((p: { metadata: { name: string } }) => p.metadata.name === pool);
  const { freeCount, allocatedCount, quarantinedCount } = found.status;
  return { freeCount, allocatedCount, quarantinedCount };
}

export interface SeenHandshake {
  readonly method: string;
  readonly body: { tenant: string; allocation: string; host: string } | null;
  readonly answer: string;
}

/** The handshakes a sample upstream received. */
export async function handshakesSeen(upstream: UpstreamProcess): Promise<SeenHandshake[]> {
  return (await call(upstream.url, 'GET', '/.sample/handshakes', undefined, { token: null })).body.items;
}

/** How a sample upstream answers the next handshakes: ok (200), fail (500) or hang. */
export async function answerHandshakes(upstream: UpstreamProcess, modes: { post?: 'ok' | 'fail' | 'hang'; delete?: 'ok' | 'fail' | 'hang' }): Promise<void> {
  const query = new URLSearchParams(modes as Record<string, string>).toString();
  const response = await call(upstream.url, 'PUT', `/.sample/handshakes?${query}`, undefined, { token: null });
  expect(response.status).toBe(200);
}

/** A request for the tenant's host on a runtime: its status and the upstream that answered. */
export async function tenantRequest(runtime: RuntimeProcess, tenant: string): Promise<{ status: number; upstream: string | undefined }> {
  const response = await request(`${runtime.proxyUrl}/`, { headers: { host: `${tenant}.${TENANT_DOMAIN}` } });
  await response.body.dump();
  const upstream = response.headers['x-upstream'];
  return { status: response.statusCode, upstream: typeof upstream === 'string' ? upstream : undefined };
}

/** The steps of an allocation as `direction step:state`, in order. */
export function stepLog(allocation: { steps: { step: string; direction: string; state: string }[] }): string[] {
  return allocation.steps.map((s) => `${s.direction} ${s.step}:${s.state}`);
}
