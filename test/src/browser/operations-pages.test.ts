import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, TEST_TOKEN, type ControllerProcess, type RuntimeProcess } from '../harness/processes.ts';
import { browserMissing, launchBrowser, screenshot } from './browser.ts';

const missing = browserMissing();
if (missing !== undefined) console.warn(missing);

/** Issue 17: the console's Zones, Runtimes and Controllers pages against a real stack, every part a process. */
describe.skipIf(missing !== undefined)('console: zones, runtimes, controllers', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;
  let runtime: RuntimeProcess;
  let browser: Browser;
  let page: Page;

  const runtimeRow = () => page.locator(`tr[data-runtime="${runtime.nodeId}"]`);
  const appliedCell = () => runtimeRow().getByTestId('applied-revision');
  const controllerRevision = async (): Promise<number> => (await call(controller.adminUrl, 'GET', '/readyz')).body.revision as number;
  const open = async (title: string): Promise<void> => {
    await page.getByRole('link', { name: title, exact: true }).click();
    await page.getByRole('heading', { name: title, level: 1 }).waitFor();
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url });
    const upstream = await stack.upstream('upstream-1');
    expect((await call(controller.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: upstream.url, zone: 'eu-1' } })).status).toBe(201);
    expect((await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' } } })).status).toBe(201);
    runtime = await stack.runtime({ controllers: [controller.xdsAddress], zone: 'eu-1' });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    await page.goto(`${controller.adminUrl}/console/`);
    await page.getByLabel('Admin API token').fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Gateways', level: 1 }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await db?.drop();
  });

  it('creates a zone through the page, shows the server refusing a bad DTC URL beside the field, and edits it', async () => {
    await open('Zones');
    const form = page.getByRole('form', { name: 'Create zone' });
    await form.getByLabel('Zone name').fill('eu-2');
    await form.getByLabel('DTC URL').fill('not a url');
    await form.getByRole('button', { name: 'Create zone' }).click();
    await form.locator('#zone-dtc-url-error', { hasText: '"not a url"' }).waitFor();
    expect(await form.getByLabel('DTC URL').getAttribute('aria-invalid')).toBe('true');
    expect((await call(controller.adminUrl, 'GET', '/v1/zones/eu-2')).status).toBe(404);

    // Issuers that are not JSON never reach the server.
    await form.getByLabel('DTC URL').fill('https://eu-2.example.com');
    await form.getByLabel('Issuers (JSON)').fill('[{"issuer": ');
    await form.getByRole('button', { name: 'Create zone' }).click();
    await form.locator('#zone-issuers-error', { hasText: 'is not JSON' }).waitFor();

    const issuer = { issuer: 'https://id.eu-2.example.com', jwksUri: 'https://id.eu-2.example.com/jwks.json' };
    await form.getByLabel('Issuers (JSON)').fill(JSON.stringify([issuer]));
    await form.getByLabel('Failover priority').fill('20');
    await form.getByRole('button', { name: 'Create zone' }).click();
    const row = page.locator('tr[data-zone="eu-2"]');
    await row.waitFor();
    for (const text of ['https://eu-2.example.com', issuer.issuer, 'eligible', '20']) expect(await row.textContent()).toContain(text);
    const stored = (await call(controller.adminUrl, 'GET', '/v1/zones/eu-2')).body.spec;
    expect(stored).toMatchObject({ dtcUrl: 'https://eu-2.example.com', failoverPriority: 20, failoverEligible: true, issuers: [issuer] });

    // Edit: the sheet keeps the name, the table follows the stored zone.
    await page.getByRole('button', { name: 'Edit zone eu-2' }).click();
    const sheet = page.getByRole('dialog', { name: 'Edit zone eu-2' });
    await sheet.getByLabel('Failover eligible').uncheck();
    await sheet.getByLabel('Failover priority').fill('30');
    await sheet.getByRole('button', { name: 'Save zone' }).click();
    await sheet.waitFor({ state: 'detached' });
    await row.filter({ hasText: 'not eligible' }).filter({ hasText: '30' }).waitFor();
    expect((await call(controller.adminUrl, 'GET', '/v1/zones/eu-2')).body.spec).toMatchObject({ failoverPriority: 30, failoverEligible: false, issuers: [issuer] });
    await screenshot(page, 'zones');
  });

  it('shows the runtime in sync with the controller, and its applied revision moving after a write without a reload', async () => {
    await open('Runtimes');
    const row = runtimeRow();
    await row.filter({ hasText: 'connected' }).waitFor();
    const cells = await row.getByRole('cell').allTextContents();
    expect(cells.slice(0, 6)).toEqual([runtime.nodeId, 'connected', 'eu-1', 'shared', '—', controller.id]);
    await eventually(async () => {
      expect(await appliedCell().textContent()).toBe(String(await controllerRevision()));
      expect(await row.getByTestId('lag').textContent()).toBe('in sync');
    });

    const before = Number(await appliedCell().textContent());
    const write = await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders/v2', upstream: { gateway: 'gw-1' } } });
    const revision = write.body.metadata.revision as number;
    expect(revision).toBeGreaterThan(before);
    const written = performance.now();
    await row.getByTestId('applied-revision').filter({ hasText: new RegExp(`^${revision}$`) }).waitFor({ timeout: 10_000 });
    console.log(`runtimes page showed revision ${revision} applied ${Math.round(performance.now() - written)} ms after the write`);
    expect(await row.getByTestId('lag').textContent()).toBe('in sync');
    await screenshot(page, 'runtimes');
  });

  it('lists the controller as alive with its one connected runtime', async () => {
    await open('Controllers');
    const row = page.locator(`tr[data-controller="${controller.id}"]`);
    await row.getByTestId('alive').filter({ hasText: /^alive$/ }).waitFor();
    // The count comes with the replica's heartbeat (every 5 s): the runtime may have joined after the last one.
    await row.getByTestId('connected-runtimes').filter({ hasText: /^1$/ }).waitFor({ timeout: 12_000 });
    expect(await row.textContent()).toContain(controller.xdsAddress);
    await screenshot(page, 'controllers');
  });

  it('revokes the runtime after asking; the row says so, and its lag grows with the next write', async () => {
    await open('Runtimes');
    await page.getByRole('button', { name: `Revoke runtime ${runtime.nodeId}` }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke runtime ${runtime.nodeId}?` });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await call(controller.adminUrl, 'GET', '/v1/runtimes')).body.items[0].revoked).toBe(false);

    await page.getByRole('button', { name: `Revoke runtime ${runtime.nodeId}` }).click();
    await dialog.getByRole('button', { name: 'Revoke runtime' }).click();
    await runtimeRow().filter({ hasText: 'revoked' }).waitFor();
    await page.getByRole('status').filter({ hasText: `Runtime ${runtime.nodeId} is revoked.` }).waitFor();
    expect(await page.getByRole('button', { name: `Revoke runtime ${runtime.nodeId}` }).count()).toBe(0);
    expect((await call(controller.adminUrl, 'GET', '/v1/runtimes')).body.items[0].revoked).toBe(true);

    // Cut off, it applies nothing more: the next write leaves it one revision behind.
    const write = await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders/v3', upstream: { gateway: 'gw-1' } } });
    expect(write.status).toBe(200);
    await runtimeRow().getByTestId('lag').filter({ hasText: /^1 behind$/ }).waitFor();
  });
});
