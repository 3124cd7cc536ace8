import type { Page } from 'playwright-core';
import { call } from '../harness/http.ts';
import { eventually } from '../harness/eventually.ts';
import { TEST_TOKEN, type ControllerProcess, type RuntimeProcess, type Stack, type UpstreamProcess } from '../harness/processes.ts';

export interface ConsoleStack {
  readonly controller: ControllerProcess;
  readonly runtime: RuntimeProcess;
  readonly upstreams: readonly UpstreamProcess[];
  /** The first revision of the API `orders`, before its base path changed. */
  readonly firstRevision: number;
}

/** Enough policies that their JSON needs a scroll bar in the API's detail. */
const policies = {
  cors: { allowOrigins: ['https://app.example.com', 'https://*.example.com'], allowHeaders: ['authorization', 'content-type'] },
  ipAccess: { deny: ['203.0.113.0/24', '198.51.100.0/24'] },
  maxRequestBodyBytes: 1_048_576,
  rateLimit: { requests: 100, per: 'minute', by: 'ip' },
  requestHeaders: { set: { 'x-team': 'shop' }, remove: ['cookie'] },
  responseHeaders: { set: { 'x-frame-options': 'DENY' } },
};

const fastChecks = { path: '/', intervalMs: 500, timeoutMs: 300, healthyThreshold: 1, unhealthyThreshold: 1 };

async function expectOk(result: Promise<{ status: number; text: string }>, what: string): Promise<void> {
  const { status, text } = await result;
  if (status >= 300) throw new Error(`${what}: ${status} ${text}`);
}

/** Until the runtime applied the current revision of `api` (the console then shows "applied"). */
async function deployed(controller: ControllerProcess, api: string): Promise<void> {
  await eventually(async () => {
    const status = (await call(controller.adminUrl, 'GET', `/v1/apis/${api}/status`)).body;
    if (status?.summary?.total !== 1 || status.summary.acked !== 1) throw new Error(`${api}: ${JSON.stringify(status?.summary)}`);
  }, { timeoutMs: 20_000 });
}

/**
 * A controller, a runtime and three upstream gateways as processes, with what an operator's
 * console shows on a working day: pools in use and unused, two APIs deployed (one with two
 * revisions, one with policies), a second zone, an org token, and the audit trail of all of it.
 */
export async function startConsoleStack(stack: Stack, databaseUrl: string): Promise<ConsoleStack> {
  const controller = await stack.controller({ databaseUrl, env: { CAUSEWAY_GATEWAY_HEARTBEAT_TTL_MS: '2000' } });
  const upstreams = await Promise.all(['upstream-1', 'upstream-2', 'upstream-3'].map((name) => stack.upstream(name)));
  const items = [
    ...upstreams.map((u, i) => ({ kind: 'Gateway', metadata: { name: `gw-${i + 1}` }, spec: { url: u.url, zone: 'default', healthCheck: fastChecks } })),
    { kind: 'GatewayPool', metadata: { name: 'shop' }, spec: { members: ['gw-1', 'gw-2'] } },
    { kind: 'GatewayPool', metadata: { name: 'payments' }, spec: { members: ['gw-2', 'gw-3'] } },
    { kind: 'GatewayPool', metadata: { name: 'staging' }, spec: { members: ['gw-3'] } },
    { kind: 'GatewayPool', metadata: { name: 'empty' }, spec: { members: [] } },
    { kind: 'Zone', metadata: { name: 'eu-2' }, spec: { dtcUrl: 'https://eu-2.example.com', failoverPriority: 20 } },
    { kind: 'Api', metadata: { name: 'orders' }, spec: { basePath: '/orders', upstream: { pool: 'shop' } } },
    { kind: 'Api', metadata: { name: 'payments' }, spec: { basePath: '/payments', upstream: { pool: 'payments' }, policies } },
  ];
  await expectOk(call(controller.adminUrl, 'POST', '/v1/apply', { items }), 'apply');
  const firstRevision = (await call(controller.adminUrl, 'GET', '/v1/apis/orders')).body.metadata.revision as number;
  await expectOk(call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders/v2', upstream: { pool: 'shop' }, methods: ['GET', 'POST'] } }), 'PUT orders');
  await expectOk(call(controller.adminUrl, 'POST', '/v1/tokens', { name: 'ci-deploy', role: 'operator' }), 'POST token');
  const runtime = await stack.runtime({ controllers: [controller.xdsAddress] });
  await deployed(controller, 'orders');
  await deployed(controller, 'payments');
  return { controller, runtime, upstreams, firstRevision };
}

/** Signs in with the test token, as an operator would: the page then shows the Gateways page. */
export async function signIn(page: Page, controller: ControllerProcess): Promise<void> {
  await page.goto(`${controller.adminUrl}/console/`);
  await page.getByLabel('Admin API token').fill(TEST_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Gateways', level: 1 }).waitFor();
}
