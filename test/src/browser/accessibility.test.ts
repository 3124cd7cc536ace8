/// <reference lib="dom" />
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AxeResults, RunOptions } from 'axe-core';
import type { Browser, Page, Request } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { Stack } from '../harness/processes.ts';
import { browserMissing, launchBrowser, screenshot } from './browser.ts';
import { signIn, startConsoleStack, type ConsoleStack } from './console-stack.ts';

const missing = browserMissing();
if (missing !== undefined) console.warn(missing);

/** axe-core's own build, put into the page by the test driver: the console's CSP stays as strict as it is served. */
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Finding {
  readonly id: string;
  readonly impact: string;
  readonly help: string;
  readonly helpUrl: string;
  readonly targets: readonly string[];
}

/** The serious and critical violations axe finds in the page as it is now. */
async function axeFindings(page: Page): Promise<Finding[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const options: RunOptions = { resultTypes: ['violations'] };
  return page.evaluate(async (runOptions) => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: RunOptions) => Promise<AxeResults> } }).axe;
    const results = await axe.run(document, runOptions);
    return results.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, helpUrl: v.helpUrl, targets: v.nodes.map((n) => n.target.join(' ')) }));
  }, options);
}

/**
 * Follows a page's requests: `settled()` waits until none has been in flight for 300 ms, so
 * what the page loaded is on screen. Pages read the API again every 2 s, so such a pause
 * comes between two reads.
 */
function trackRequests(page: Page): { settled: () => Promise<void> } {
  let pending = 0;
  let last = Date.now();
  // An API's deployment-status event stream stays open while its detail is shown: never "finished".
  const counted = (request: Request): boolean => !request.url().endsWith('/status/events');
  page.on('request', (request) => void (counted(request) && ((pending += 1), (last = Date.now()))));
  const ended = (request: Request): void => void (counted(request) && ((pending -= 1), (last = Date.now())));
  page.on('requestfinished', ended);
  page.on('requestfailed', ended);
  return {
    settled: () =>
      eventually(() => {
        if (pending > 0 || Date.now() - last < 300) throw new Error(`${pending} requests in flight`);
      }, { timeoutMs: 10_000, intervalMs: 50 }),
  };
}

/** Issue 17: no serious or critical axe-core violation on any page of the console, nor in its dialogs. */
describe.skipIf(missing !== undefined)('console: accessibility', () => {
  let db: TestDatabase;
  let stack: Stack;
  let consoleStack: ConsoleStack;
  let browser: Browser;
  let page: Page;
  let requests: { settled: () => Promise<void> };
  const found: string[] = [];
  const audited: string[] = [];

  /** Runs axe on the page as it is now; what it finds is kept for one failure listing everything. */
  const audit = async (where: string): Promise<void> => {
    await requests.settled();
    audited.push(where);
    for (const f of await axeFindings(page)) {
      found.push(`${where}: ${f.id} (${f.impact}) ${f.help}\n    ${f.targets.join('\n    ')}\n    ${f.helpUrl}`);
    }
    await screenshot(page, `accessibility-${where.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    consoleStack = await startConsoleStack(stack, db.url);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    requests = trackRequests(page);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await db?.drop();
  });

  it('has no serious or critical violation on the sign-in page, any page the navigation links, or the Gateways and APIs dialogs', async () => {
    const { controller, firstRevision } = consoleStack;
    await page.goto(`${controller.adminUrl}/console/`);
    await page.getByLabel('Admin API token').waitFor();
    await audit('Sign-in');
    await page.getByLabel('Admin API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await audit('Sign-in, refused token');

    await signIn(page, controller);
    // Every page the header links, so a page added later is audited without touching this test.
    const navLink = (href: string) => page.locator(`nav[aria-label="Pages"] a[href="${href}"]`);
    const links = await page
      .locator('nav[aria-label="Pages"] a')
      .evaluateAll((anchors) => anchors.map((a) => ({ name: a.textContent?.trim() ?? '', href: a.getAttribute('href') ?? '' })));
    expect(links.map((l) => l.name)).toEqual(expect.arrayContaining(['Gateways', 'APIs', 'Audit log']));
    for (const link of links) {
      await navLink(link.href).click();
      await navLink(link.href).and(page.locator('[aria-current="page"]')).waitFor();
      await page.getByRole('heading', { level: 1 }).waitFor();
      await audit(`Page ${link.name}`);
    }

    // Gateways: the pools with their badges, a refused name, the sheet, the drawer, the other tab.
    await navLink('#gateways').click();
    await page.locator('tr[data-pool="shop"] [data-testid="pool-health"]', { hasText: '2/2 healthy' }).waitFor({ timeout: 20_000 });
    await page.getByLabel('Pool name').fill('Bad_Name');
    await page.getByRole('button', { name: 'Create pool' }).click();
    await page.locator('#pool-name-error').waitFor();
    await audit('Gateway Pools, refused name');
    await page.getByRole('button', { name: 'Open pool shop' }).click();
    const sheet = page.getByRole('dialog', { name: 'Pool shop' });
    await sheet.getByRole('button', { name: 'Remove gw-1' }).waitFor();
    await audit('Pool sheet');
    await sheet.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('button', { name: /^Connected resources of shop/ }).click();
    const drawer = page.getByRole('dialog', { name: 'Connected resources of shop' });
    await drawer.getByRole('listitem').first().waitFor();
    await audit('Connected resources drawer');
    await drawer.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('button', { name: 'Gateways', exact: true }).click();
    await page.getByRole('row').filter({ hasText: 'gw-1' }).filter({ hasText: 'healthy' }).waitFor();
    await audit('Gateways tab');

    // APIs: the create form with the picker's warning, an API's detail with a diff, the rollback dialog.
    await navLink('#apis').click();
    const form = page.getByRole('form', { name: 'Create API' });
    await form.locator('optgroup[label="Gateway Pools"] option', { hasText: 'empty' }).waitFor({ state: 'attached' });
    await form.getByLabel('Upstream').selectOption('pool:empty');
    await form.getByRole('alert').waitFor();
    await audit('Create API, pool without a healthy member');
    await form.getByLabel('Upstream').selectOption('pool:shop');
    await audit('Create API, pool chosen');
    await page.getByRole('button', { name: 'Open API payments' }).click();
    await page.getByRole('region', { name: 'Policies' }).waitFor();
    await audit('API detail with policies');
    await page.getByRole('button', { name: 'Open API orders' }).click();
    await page.locator('tr[data-runtime]', { hasText: 'applied' }).waitFor({ timeout: 20_000 });
    await page.getByLabel('Compare with revision').selectOption(String(firstRevision));
    await page.getByRole('table', { name: `Changes from revision ${firstRevision} to the current spec` }).waitFor();
    await audit('API detail with a diff');
    await page.getByRole('button', { name: 'Roll back to this revision' }).click();
    await page.getByRole('dialog', { name: `Roll orders back to revision ${firstRevision}?` }).waitFor();
    await audit('Rollback dialog');

    console.log(`axe-core audited: ${audited.join(', ')}`);
    expect(found, `serious or critical accessibility violations:\n${found.join('\n')}`).toEqual([]);
  });
});
