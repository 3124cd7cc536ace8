import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';
import { Stack, TEST_TOKEN, type ControllerProcess, type RuntimeProcess } from '../harness/processes.ts';
import { browserMissing, launchBrowser, screenshot } from './browser.ts';

const missing = browserMissing();
if (missing !== undefined) console.warn(missing);

/** Issue 17: the console's APIs and Audit log pages against a real stack, every part a process. */
describe.skipIf(missing !== undefined)('console: APIs, deployments, rollback, audit log', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;
  let runtime: RuntimeProcess;
  let browser: Browser;
  let page: Page;

  const fastChecks = { path: '/', intervalMs: 500, timeoutMs: 300, healthyThreshold: 1, unhealthyThreshold: 1 };
  const runtimeState = (state: string) => page.locator(`tr[data-runtime="${runtime.nodeId}"]`).filter({ hasText: state });

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url });
    const upstreams = await Promise.all([stack.upstream('upstream-1'), stack.upstream('upstream-2')]);
    for (const [i, u] of upstreams.entries()) {
      await call(controller.adminUrl, 'PUT', `/v1/gateways/gw-${i + 1}`, { spec: { url: u.url, zone: 'default', healthCheck: fastChecks } });
    }
    expect((await call(controller.adminUrl, 'POST', '/v1/gateway-pools', { metadata: { name: 'shop' }, spec: { members: ['gw-1', 'gw-2'] } })).status).toBe(201);
    expect((await call(controller.adminUrl, 'POST', '/v1/gateway-pools', { metadata: { name: 'empty' }, spec: { members: [] } })).status).toBe(201);
    runtime = await stack.runtime({ controllers: [controller.xdsAddress] });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await db?.drop();
  });

  it('creates an API on a pool through the picker, watches it deploy, rolls it back and finds both in the audit log', async () => {
    await page.goto(`${controller.adminUrl}/console/`);
    await page.getByLabel('Admin API token').fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'APIs' }).click();
    await page.getByRole('heading', { name: 'APIs', level: 1 }).waitFor();
    expect(await page.getByRole('link', { name: 'APIs' }).getAttribute('aria-current')).toBe('page');

    const form = page.getByRole('form', { name: 'Create API' });
    await form.getByLabel('API name').fill('orders');
    await form.getByLabel('Base path').fill('/orders');
    // The picker groups pools apart from gateways; a pool of two members is marked HA.
    await form.locator('optgroup[label="Gateway Pools"] option', { hasText: 'shop' }).filter({ hasText: 'HA' }).waitFor({ state: 'attached' });
    await form.locator('optgroup[label="Gateways"] option', { hasText: 'gw-1' }).waitFor({ state: 'attached' });

    // A pool with no healthy member warns, and the first save does not send anything.
    await form.getByLabel('Upstream').selectOption('pool:empty');
    await form.getByRole('alert').filter({ hasText: 'Pool empty has no healthy member' }).waitFor();
    await form.getByRole('button', { name: 'Create API' }).click();
    await form.getByRole('button', { name: 'Create API anyway' }).waitFor();
    expect((await call(controller.adminUrl, 'GET', '/v1/apis')).body.items).toEqual([]);

    await form.getByLabel('Upstream').selectOption('pool:shop');
    expect(await form.getByRole('alert').count()).toBe(0);
    await form.getByRole('button', { name: 'Create API' }).click();
    await page.getByRole('heading', { name: 'API orders' }).waitFor();
    expect((await call(controller.adminUrl, 'GET', '/v1/apis/orders')).body.spec.upstream).toEqual({ pool: 'shop' });

    // Deployment status updates without a reload: pending, then applied by the runtime process.
    await runtimeState('applied').waitFor({ timeout: 20_000 });
    await page.locator('tr[data-api="orders"] [data-testid="deployment-summary"]', { hasText: '1/1 applied' }).waitFor();
    const first = (await call(controller.adminUrl, 'GET', '/v1/apis/orders')).body.metadata.revision as number;

    // A change made elsewhere shows up; the diff against the first revision names the field.
    expect((await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders/v2', upstream: { pool: 'shop' } } })).status).toBe(200);
    const second = (await call(controller.adminUrl, 'GET', '/v1/apis/orders')).body.metadata.revision as number;
    await page.getByRole('heading', { name: `Deployment of revision ${second}` }).waitFor();
    await runtimeState('applied').waitFor({ timeout: 20_000 });
    await page.getByLabel('Compare with revision').selectOption(String(first));
    const diff = page.getByRole('table', { name: `Changes from revision ${first} to the current spec` });
    await diff.getByRole('row').filter({ has: page.getByRole('cell', { name: 'basePath', exact: true }) }).filter({ hasText: '"/orders"' }).filter({ hasText: '"/orders/v2"' }).waitFor();
    await screenshot(page, 'api-detail');

    await page.getByRole('button', { name: 'Roll back to this revision' }).click();
    const confirm = page.getByRole('dialog', { name: `Roll orders back to revision ${first}?` });
    await confirm.getByRole('button', { name: 'Roll back', exact: true }).click();
    await page.getByRole('status').filter({ hasText: `restores revision ${first}` }).waitFor();
    const restored = (await call(controller.adminUrl, 'GET', '/v1/apis/orders')).body;
    expect(restored.spec.basePath).toBe('/orders');
    await page.getByRole('heading', { name: `Deployment of revision ${restored.metadata.revision as number}` }).waitFor();
    await runtimeState('applied').waitFor({ timeout: 20_000 });
    await screenshot(page, 'apis');

    // Both actions in the audit log, newest first, found through its filter.
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.getByLabel('Resource').fill('api/orders');
    await page.getByRole('button', { name: 'Filter' }).click();
    const rows = page.getByRole('table', { name: 'Audit events, newest first' }).getByRole('row');
    await rows.filter({ hasText: 'api.rollback' }).waitFor();
    await rows.filter({ hasText: 'api.create' }).waitFor();
    const actions = await rows.locator('td:nth-child(3)').allTextContents();
    expect(actions).toEqual(['api.rollback', 'api.update', 'api.create']);
    await screenshot(page, 'audit-log');

    // Paging follows the API's cursor: 28 gateway creations are 25 on the first page, 3 on the next.
    for (let i = 1; i <= 26; i++) await call(controller.adminUrl, 'PUT', `/v1/gateways/extra-${i}`, { spec: { url: 'http://127.0.0.1:9', zone: 'default' } });
    await page.getByLabel('Resource').fill('');
    await page.getByLabel('Action').fill('gateway.create');
    await page.getByRole('button', { name: 'Filter' }).click();
    await rows.filter({ hasText: 'extra-26' }).waitFor();
    expect(await rows.locator('td:nth-child(4)').first().textContent()).toBe('gateway/extra-26');
    expect(await rows.filter({ hasText: 'gateway.create' }).count()).toBe(25);
    await page.getByRole('button', { name: 'Older' }).click();
    await rows.filter({ hasText: 'gw-1' }).waitFor();
    expect(await rows.locator('td:nth-child(4)').allTextContents()).toEqual(['gateway/extra-1', 'gateway/gw-2', 'gateway/gw-1']);
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Newer' }).click();
    await rows.filter({ hasText: 'extra-26' }).waitFor();
  });

  it('shows a runtime that rejected a revision, with its NACK message, beside one that applied it', async () => {
    // This runtime refuses request timeouts over 20 s; the first one allows the default 300 s.
    const strict = await stack.runtime({ controllers: [controller.xdsAddress], nodeId: 'strict', env: { CAUSEWAY_MAX_REQUEST_TIMEOUT_MS: '20000' } });
    const spec = { basePath: '/slow', upstream: { pool: 'shop' }, timeouts: { requestMs: 60_000 } };
    expect((await call(controller.adminUrl, 'PUT', '/v1/apis/slow', { spec })).status).toBe(201);
    await page.getByRole('link', { name: 'APIs' }).click();
    await page.locator('tr[data-api="slow"] [data-testid="deployment-summary"]', { hasText: '1/2 applied, 1 rejected' }).waitFor({ timeout: 20_000 });
    expect(await page.locator('tr[data-api="slow"] [data-testid="deployment-summary"]').getAttribute('class')).toContain('red');

    // The detail's runtime table follows the controller's event stream, not a poll.
    const streamed = page.waitForRequest((r) => r.url().endsWith('/v1/apis/slow/status/events'));
    await page.getByRole('button', { name: 'Open API slow' }).click();
    await streamed;
    const rejected = page.locator(`tr[data-runtime="${strict.nodeId}"]`);
    await rejected.filter({ hasText: 'rejected' }).filter({ hasText: 'CAUSEWAY_MAX_REQUEST_TIMEOUT_MS' }).waitFor({ timeout: 20_000 });
    await runtimeState('applied').waitFor();
    await screenshot(page, 'api-rejected');
  });

  it('lists many APIs a page at a time, reading the deployment status of the rows shown only', async () => {
    const bulk = Array.from({ length: 60 }, (_, i) => ({ kind: 'Api', metadata: { name: `bulk-${String(i).padStart(2, '0')}` }, spec: { basePath: `/bulk-${i}`, upstream: { pool: 'shop' } } }));
    expect((await call(controller.adminUrl, 'POST', '/v1/apply', { items: bulk })).status).toBe(200);
    const everyName = ((await call(controller.adminUrl, 'GET', '/v1/apis')).body.items as { metadata: { name: string } }[]).map((a) => a.metadata.name);
    await page.getByRole('link', { name: 'Gateways' }).click();
    await page.getByRole('link', { name: 'APIs' }).click();
    const pages = page.getByRole('navigation', { name: 'API pages' });
    await pages.getByText('Page 1').waitFor();
    const shown = () => page.locator('tr[data-api]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-api')));
    await expect.poll(shown).toEqual(everyName.slice(0, 25));
    // Each row reads its status every 2 s: over 4 s, about two reads of 25 rows, never one per API of the org.
    const statusReads: string[] = [];
    const count = (request: { url(): string }) => void (/\/v1\/apis\/[^/]+\/status$/.test(new URL(request.url()).pathname) && statusReads.push(request.url()));
    page.on('request', count);
    await page.waitForTimeout(4_000);
    page.off('request', count);
    expect(statusReads.length).toBeGreaterThanOrEqual(25);
    expect(statusReads.length).toBeLessThanOrEqual(3 * 25);
    await pages.getByRole('button', { name: 'Next' }).click();
    await pages.getByText('Page 2').waitFor();
    await expect.poll(shown).toEqual(everyName.slice(25, 50));
    await pages.getByRole('button', { name: 'Next' }).click();
    await pages.getByText('Page 3').waitFor();
    await expect.poll(shown).toEqual(everyName.slice(50, 75));
    await pages.getByRole('button', { name: 'Previous' }).click();
    await pages.getByText('Page 2').waitFor();
    await expect.poll(shown).toEqual(everyName.slice(25, 50));
  });
});
