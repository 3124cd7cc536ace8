import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import postgres from 'postgres';
import { allocationEnv, answerHandshakes, handshakesSeen, poolCounts, poolOf, TENANT_DOMAIN, tenantRequest } from '../harness/allocations.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, TEST_TOKEN, type ControllerProcess, type RuntimeProcess, type UpstreamProcess } from '../harness/processes.ts';
import { browserMissing, launchBrowser, screenshot } from './browser.ts';

const missing = browserMissing();
if (missing !== undefined) console.warn(missing);

/** Where a secret could still be on the page: its markup, its text, form values and storage. */
async function placesHolding(page: Page, secret: string): Promise<string[]> {
  const values = await Promise.all((await page.locator('input, textarea').all()).map((input) => input.inputValue()));
  const places: [string, string][] = [
    ['markup', await page.content()],
    ['text', await page.locator('body').innerText()],
    ['form values', values.join('\n')],
    // A string, evaluated in the page: this project's TypeScript has no DOM types outside the console.
    ['storage', String(await page.evaluate('JSON.stringify({ session: { ...sessionStorage }, local: { ...localStorage } })'))],
  ];
  return places.filter(([, text]) => text.includes(secret)).map(([name]) => name);
}

/** Each row of a step table as `step:state`, in order. */
async function stepStates(table: Locator): Promise<string[]> {
  const rows = await table.locator('tbody tr').all();
  return Promise.all(rows.map(async (r) => `${(await r.locator('td').first().textContent()) ?? ''}:${(await r.locator('.badge').textContent()) ?? ''}`));
}

/** Issue 17: the console's Allocations and Tokens pages against a real stack, every part a process. */
describe.skipIf(missing !== undefined)('console: allocations and tokens', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;
  let runtime: RuntimeProcess;
  let upstream: UpstreamProcess;
  let browser: Browser;
  let page: Page;
  const blocked: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url, env: allocationEnv(5_000, { CAUSEWAY_TENANT_DOMAIN: TENANT_DOMAIN, CAUSEWAY_ALLOCATION_HANDSHAKE_TIMEOUT_MS: '3000' }) });
    upstream = await stack.upstream('up-1');
    await poolOf(controller.adminUrl, 'shop', [upstream]);
    runtime = await stack.runtime({ controllers: [controller.xdsAddress] });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: controller.adminUrl });
    page = await context.newPage();
    page.on('console', (m) => m.type() === 'error' && blocked.push(m.text()));
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

  it('allocates a gateway for a tenant, shows its four steps done without a reload, and releases it', async () => {
    await page.getByRole('link', { name: 'Allocations' }).click();
    await page.getByRole('heading', { name: 'Allocations', level: 1 }).waitFor();
    // Gone if the page reloads: everything below must arrive through the page's own reads.
    await page.evaluate('window.notReloaded = true');

    const form = page.getByRole('form', { name: 'Allocate a gateway' });
    await form.getByLabel('Pool').selectOption('shop');
    await form.getByLabel('Tenant').fill('acme');
    await form.getByRole('button', { name: 'Allocate' }).click();

    const detail = page.getByRole('region', { name: /^Allocation alc_[0-9a-f]{16}$/ });
    await detail.getByTestId('allocation-state').filter({ hasText: /^ready$/ }).waitFor({ timeout: 20_000 });
    const steps = detail.getByRole('table', { name: 'Steps' });
    expect(await stepStates(steps)).toEqual(['reserve:done', 'route:done', 'converge:done', 'handshake:done']);
    const row = page.locator('tr[data-tenant="acme"]');
    await row.getByTestId('allocation-state').filter({ hasText: /^ready$/ }).waitFor();
    expect(await row.textContent()).toContain(`acme.${TENANT_DOMAIN}`);
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    await screenshot(page, 'allocations');

    // What the page shows is what happened: one allocation, its gateway told, its host served.
    const listed = (await call(controller.adminUrl, 'GET', '/v1/allocations?tenant=acme')).body.items;
    expect(listed).toHaveLength(1);
    const id: string = listed[0].id;
    expect(listed[0]).toMatchObject({ state: 'ready', pool: 'shop', gateway: 'gw-up-1', host: `acme.${TENANT_DOMAIN}` });
    expect(await row.getAttribute('data-allocation')).toBe(id);
    expect((await handshakesSeen(upstream)).filter((h) => h.body?.allocation === id).map((h) => h.method)).toEqual(['POST']);
    await eventually(async () => expect(await tenantRequest(runtime, 'acme')).toEqual({ status: 200, upstream: 'up-1' }), { message: () => stack.tails() });

    // Release asks first; nothing is sent until it is confirmed.
    await detail.getByRole('button', { name: 'Release' }).click();
    const confirm = page.getByRole('dialog', { name: 'Release the gateway of acme?' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect((await call(controller.adminUrl, 'GET', `/v1/allocations/${id}`)).body.state).toBe('ready');
    await detail.getByRole('button', { name: 'Release' }).click();
    await confirm.getByRole('button', { name: 'Release' }).click();

    await detail.getByTestId('allocation-state').filter({ hasText: /^released$/ }).waitFor({ timeout: 20_000 });
    await row.getByTestId('allocation-state').filter({ hasText: /^released$/ }).waitFor();
    const undone = await stepStates(detail.getByRole('table', { name: 'Release, step by step' }));
    expect(undone).toEqual(['handshake:done', 'route:done', 'reserve:done']);
    await detail.getByRole('status').filter({ hasText: 'is back in pool shop' }).waitFor();
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    await screenshot(page, 'allocation-detail');

    expect(await poolCounts(controller.adminUrl, 'shop')).toEqual({ freeCount: 1, allocatedCount: 0, quarantinedCount: 0 });
    expect((await handshakesSeen(upstream)).filter((h) => h.body?.allocation === id).map((h) => h.method)).toEqual(['POST', 'DELETE']);
    await eventually(async () => expect((await tenantRequest(runtime, 'acme')).status).toBe(404), { message: () => stack.tails() });

    // A handshake that hangs: the allocation opens while its request still runs, its steps
    // follow live, and when the step times out the form says why and the rollback shows step by step.
    await answerHandshakes(upstream, { post: 'hang' });
    await form.getByLabel('Tenant').fill('beta');
    await form.getByRole('button', { name: 'Allocate' }).click();
    await detail.getByText(`beta.${TENANT_DOMAIN}`).waitFor();
    await detail.getByTestId('allocation-state').filter({ hasText: /^pending$/ }).waitFor();
    await steps.locator('tr[data-step="handshake"] .badge', { hasText: 'running' }).waitFor();
    expect(await form.getByRole('button', { name: 'Allocating…' }).isDisabled()).toBe(true);
    await form.getByRole('alert').filter({ hasText: 'gateway "gw-up-1" did not answer the handshake (POST) within 3000 ms' }).waitFor({ timeout: 20_000 });
    await detail.getByTestId('allocation-state').filter({ hasText: /^rolled-back$/ }).waitFor();
    expect(await stepStates(steps)).toEqual(['reserve:done', 'route:done', 'converge:done', 'handshake:failed']);
    expect(await stepStates(detail.getByRole('table', { name: 'Rollback, step by step' }))).toEqual(['handshake:done', 'route:done', 'reserve:done']);
    await detail.getByText('upstream_timeout').waitFor();
    expect(await detail.getByRole('button', { name: 'Release' }).count()).toBe(0);
    await screenshot(page, 'allocation-rollback');
    await answerHandshakes(upstream, { post: 'ok' });
  });

  it('shows a new token secret once, forgets it when the dialog closes, and revokes the token', async () => {
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'Tokens', level: 1 }).waitFor();
    const form = page.getByRole('form', { name: 'Create token' });
    await form.getByLabel('Name').fill('ci');
    await form.getByLabel('Role').selectOption('operator');
    await form.getByLabel('Expires in').selectOption({ label: '1 day' });
    await form.getByRole('button', { name: 'Create token' }).click();

    const dialog = page.getByRole('dialog', { name: 'Token ci created' });
    await dialog.getByText('you will not see it again').waitFor();
    const secret = ((await dialog.getByTestId('secret').textContent()) ?? '').trim();
    expect(secret).toMatch(/^cw_[A-Za-z0-9_-]{43,}$/);
    // The probe below sees a secret where one is shown.
    expect(await placesHolding(page, secret)).toEqual(['markup', 'text']);
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);

    // The secret works, with the role chosen: an operator reads pools but not tokens.
    expect((await call(controller.adminUrl, 'GET', '/v1/gateway-pools', undefined, { token: secret })).status).toBe(200);
    expect((await call(controller.adminUrl, 'GET', '/v1/tokens', undefined, { token: secret })).status).toBe(403);

    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await placesHolding(page, secret)).toEqual([]);

    const tokens = (await call(controller.adminUrl, 'GET', '/v1/tokens')).body.items as { id: string; name: string; expiresAt: string }[];
    const ci = tokens.find((t) => t.name === 'ci');
    expect(Date.parse(ci?.expiresAt ?? '') - Date.now()).toBeGreaterThan(23 * 3_600_000);
    const row = page.locator(`tr[data-token="${ci?.id ?? ''}"]`);
    await row.filter({ hasText: 'operator' }).filter({ hasText: 'active' }).waitFor();
    await screenshot(page, 'tokens');

    await row.getByRole('button', { name: 'Revoke token ci' }).click();
    await page.getByRole('dialog', { name: 'Revoke token ci?' }).getByRole('button', { name: 'Revoke' }).click();
    await row.locator('.badge', { hasText: 'revoked' }).waitFor();
    expect(await row.getByRole('button', { name: 'Revoke token ci' }).count()).toBe(0);
    expect((await call(controller.adminUrl, 'GET', '/v1/gateway-pools', undefined, { token: secret })).status).toBe(401);
  });

  it('creates a runtime join token shown once, and deletes it', async () => {
    const form = page.getByRole('form', { name: 'Create join token' });
    await form.getByLabel('Labels').fill('env=test, tier=edge');
    await form.getByRole('button', { name: 'Create join token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Join token for zone default created' });
    const secret = ((await dialog.getByTestId('secret').textContent()) ?? '').trim();
    expect(secret).toMatch(/^cwj_/);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await placesHolding(page, secret)).toEqual([]);

    const [joinToken] = (await call(controller.adminUrl, 'GET', '/v1/runtime-tokens')).body.items;
    expect(joinToken).toMatchObject({ zone: 'default', org: 'default', labels: { env: 'test', tier: 'edge' }, state: 'active' });
    const row = page.locator(`tr[data-join-token="${String(joinToken.id)}"]`);
    await row.filter({ hasText: 'env=test, tier=edge' }).waitFor();
    await row.getByRole('button', { name: `Delete join token ${String(joinToken.id)}` }).click();
    await page.getByRole('dialog', { name: `Delete join token ${String(joinToken.id)}?` }).getByRole('button', { name: 'Delete' }).click();
    await row.locator('.badge', { hasText: 'deleted' }).waitFor();
    expect((await call(controller.adminUrl, 'GET', '/v1/runtime-tokens')).body.items[0].state).toBe('deleted');
    // Nothing the pages need was refused by the Content-Security-Policy.
    expect(blocked.filter((text) => text.includes('Content Security Policy'))).toEqual([]);
  });

  it('pages through more allocations than a page holds, and opens one on an older page', async () => {
    // Finished allocations as the allocator leaves them, older than the one made above; written by hand so that there are enough.
    const sql = postgres(db.url, { onnotice: () => undefined });
    const rows = Array.from({ length: 60 }, (_, i) => ({
      id: `alc_${(0xa000 + i).toString(16).padStart(16, '0')}`, org_id: 'default', pool_name: 'shop', tenant: `old-${i}`,
      host: `old-${i}.${TENANT_DOMAIN}`, api_name: `alloc-old-${i}`, state: 'released', created_at: new Date(Date.parse('2026-01-01T00:00:00Z') + i * 1_000).toISOString(),
    }));
    await sql`INSERT INTO allocations ${sql(rows)}`;
    await sql.end();
    const total = (await call(controller.adminUrl, 'GET', '/v1/allocations')).body.items.length;
    expect(total).toBeGreaterThan(60);
    await page.getByRole('link', { name: 'Allocations' }).click();
    const pages = page.getByRole('navigation', { name: 'Allocation pages' });
    await pages.getByText('Page 1').waitFor();
    // The ones made above, then the 60 old ones, newest first: 50 on the first page, the rest on the second.
    await expect.poll(() => page.locator('tr[data-allocation]').count()).toBe(50);
    expect(await pages.getByRole('button', { name: 'Newer' }).isDisabled()).toBe(true);
    await pages.getByRole('button', { name: 'Older' }).click();
    await pages.getByText('Page 2').waitFor();
    await expect.poll(() => page.locator('tr[data-allocation]').count()).toBe(total - 50);
    expect(await pages.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Open allocation alc_000000000000a000 of old-0' }).click();
    await page.getByRole('region', { name: 'Allocation alc_000000000000a000' }).getByText('Released: the route is gone').waitFor();
    await pages.getByRole('button', { name: 'Newer' }).click();
    await pages.getByText('Page 1').waitFor();
    await page.locator('tr[data-tenant="acme"]').waitFor();
  });
});
