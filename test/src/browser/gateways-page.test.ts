import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';
import { Stack, TEST_TOKEN, type ControllerProcess, type UpstreamProcess } from '../harness/processes.ts';
import { browserMissing, launchBrowser, screenshot } from './browser.ts';

const missing = browserMissing();
if (missing !== undefined) console.warn(missing);

/** Issue 17: the console's Gateways page against a real stack, every part a process. */
describe.skipIf(missing !== undefined)('console: gateway pools', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;
  let upstreams: UpstreamProcess[];
  let browser: Browser;
  let page: Page;

  const fastChecks = { path: '/', intervalMs: 500, timeoutMs: 300, healthyThreshold: 1, unhealthyThreshold: 1 };
  const badgeOf = (pool: string) => page.locator(`tr[data-pool="${pool}"] [data-testid="pool-health"]`);

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url, env: { CAUSEWAY_GATEWAY_HEARTBEAT_TTL_MS: '2000' } });
    upstreams = await Promise.all([stack.upstream('upstream-1'), stack.upstream('upstream-2')]);
    for (const [i, u] of upstreams.entries()) {
      await call(controller.adminUrl, 'PUT', `/v1/gateways/gw-${i + 1}`, { spec: { url: u.url, zone: 'default', healthCheck: fastChecks } });
    }
    await stack.runtime({ controllers: [controller.xdsAddress] });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await db?.drop();
  });

  it('signs in, creates a pool, adds members, shows a dead member, what uses the pool, and the 409 of deleting it', async () => {
    const blocked: string[] = [];
    page.on('console', (m) => m.type() === 'error' && blocked.push(m.text()));
    await page.goto(`${controller.adminUrl}/console/`);
    await page.getByLabel('Admin API token').fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Gateways' }).waitFor();
    expect(await page.getByRole('button', { name: 'Gateway Pools' }).getAttribute('aria-pressed')).toBe('true');

    // A bad name is refused beside the field, before anything is sent.
    await page.getByLabel('Pool name').fill('Shop_Pool');
    await page.getByRole('button', { name: 'Create pool' }).click();
    await page.locator('#pool-name-error', { hasText: 'must be a slug' }).waitFor();
    expect(await page.getByLabel('Pool name').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'pool-name-error');
    expect((await call(controller.adminUrl, 'GET', '/v1/gateway-pools')).body.items).toEqual([]);

    await page.getByLabel('Pool name').fill('shop');
    await page.getByRole('button', { name: 'Create pool' }).click();
    await badgeOf('shop').filter({ hasText: /^no members$/ }).waitFor();

    // Two members through the sheet's picker.
    await page.getByRole('button', { name: 'Open pool shop' }).click();
    const sheet = page.getByRole('dialog', { name: 'Pool shop' });
    for (const gateway of ['gw-1', 'gw-2']) {
      await sheet.getByLabel('Gateway', { exact: true }).selectOption(gateway);
      await sheet.getByRole('button', { name: 'Add gateway' }).click();
      await sheet.getByRole('button', { name: `Remove ${gateway}` }).waitFor();
    }
    await sheet.getByRole('button', { name: 'Close' }).click();
    expect((await call(controller.adminUrl, 'GET', '/v1/gateway-pools/shop')).body.spec.members).toEqual(['gw-1', 'gw-2']);

    // An API on the pool: the runtime checks its members, and the pool is in use.
    await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { pool: 'shop' } } });
    await badgeOf('shop').filter({ hasText: /^2\/2 healthy$/ }).waitFor({ timeout: 20_000 });
    expect(await badgeOf('shop').getAttribute('class')).toContain('green');
    await screenshot(page, 'gateway-pools');

    // The page reads health again by itself: no reload between the kill and the yellow badge.
    await upstreams[0]?.kill();
    const killed = performance.now();
    await badgeOf('shop').filter({ hasText: /^1\/2 healthy$/ }).waitFor({ timeout: 10_000 });
    console.log(`pool badge turned yellow ${Math.round(performance.now() - killed)} ms after the gateway process was killed`);
    expect(await badgeOf('shop').getAttribute('class')).toContain('yellow');
    await screenshot(page, 'pool-degraded');

    await page.getByRole('button', { name: 'Connected resources of shop: 1' }).click();
    const drawer = page.getByRole('dialog', { name: 'Connected resources of shop' });
    await drawer.getByRole('listitem').filter({ hasText: 'Api orders' }).waitFor();
    await screenshot(page, 'connected-resources');
    await drawer.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('button', { name: 'Open pool shop' }).click();
    // Deleting asks once more; Cancel sends nothing.
    await sheet.getByRole('button', { name: 'Delete pool' }).click();
    const confirm = sheet.getByRole('group', { name: 'Delete pool shop?' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect(await sheet.getByRole('alert').count()).toBe(0);
    await sheet.getByRole('button', { name: 'Delete pool' }).click();
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    const refusal = sheet.getByRole('alert');
    await refusal.filter({ hasText: 'orders' }).waitFor();
    await screenshot(page, 'pool-in-use');
    expect((await call(controller.adminUrl, 'GET', '/v1/gateway-pools/shop')).status).toBe(200);
    // Nothing the page needs was refused by its Content-Security-Policy.
    expect(blocked.filter((text) => text.includes('Content Security Policy'))).toEqual([]);
    await sheet.getByRole('button', { name: 'Close' }).click();

    // The other half of the toggle: each gateway with its health and why.
    await page.getByRole('button', { name: 'Gateways', exact: true }).click();
    await page.getByRole('row').filter({ hasText: 'gw-1' }).filter({ hasText: 'unhealthy' }).waitFor();
    await screenshot(page, 'gateways');

    // A bad gateway name: the server's word shows beside the name field, and nothing is created.
    const create = page.getByRole('form', { name: 'Create gateway' });
    await create.getByLabel('Name').fill('Bad_Name');
    await create.getByLabel('URL').fill('http://127.0.0.1:9');
    await create.getByRole('button', { name: 'Create gateway' }).click();
    await create.getByRole('alert').filter({ hasText: '"Bad_Name" is not a slug' }).waitFor();
    expect((await call(controller.adminUrl, 'GET', '/v1/gateways/Bad_Name')).status).toBe(404);

    // Signing out forgets the token: a reload asks for one again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.reload();
    await page.getByLabel('Admin API token').waitFor();
  });

  it('keeps the keyboard inside an open sheet, through the page refreshing behind it, and gives the focus back on Escape', async () => {
    await page.getByLabel('Admin API token').fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const opener = page.getByRole('button', { name: 'Open pool shop' });
    await opener.focus();
    await page.keyboard.press('Enter');
    const sheet = page.getByRole('dialog', { name: 'Pool shop' });
    await sheet.waitFor();
    const focusInSheet = (): Promise<boolean> => sheet.evaluate((panel) => panel.contains(document.activeElement));
    expect(await focusInSheet()).toBe(true);
    // More presses than the sheet has controls, both ways round: the focus never reaches the page behind.
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      expect(await focusInSheet(), `after Tab ${i + 1}`).toBe(true);
    }
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Shift+Tab');
      expect(await focusInSheet(), `after Shift+Tab ${i + 1}`).toBe(true);
    }
    // The pools behind are read again every 2 s; a control chosen in the sheet keeps the focus.
    await sheet.getByLabel('Gateway', { exact: true }).focus();
    await page.waitForResponse((r) => r.url().endsWith('/v1/gateway-pools'));
    // The answer is rendered before the next frame.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    expect(await sheet.getByLabel('Gateway', { exact: true }).evaluate((select) => select === document.activeElement)).toBe(true);
    await page.keyboard.press('Escape');
    await sheet.waitFor({ state: 'detached' });
    expect(await opener.evaluate((button) => button === document.activeElement)).toBe(true);
  });
});
