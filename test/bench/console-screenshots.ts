// npm run docs:screenshots: the console screenshots of README.md and docs/console.md, made again.
//
// A real stack (embedded PostgreSQL, a controller, a runtime, three upstream gateways, as
// processes) with the data of the browser tests (test/src/browser/console-stack.ts), shown in
// Debian's Chromium at 1280×800 (en-US, UTC), each page as an operator would see it:
//   docs/console-api-deployment.png  the APIs page with one API's detail and its deployment status
//   docs/console-audit-log.png       the audit log of that API after a rollback made in the console
//   docs/console-gateway-pools.png   the pools after one gateway process was killed (a yellow badge)
/// <reference lib="dom" />
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '@causeway/controller';
import { Stack } from '../src/harness/processes.ts';
import { browserMissing, launchBrowser } from '../src/browser/browser.ts';
import { signIn, startConsoleStack, type ConsoleStack } from '../src/browser/console-stack.ts';

/** GitHub shows them at full width; larger files slow the README down. */
const MAX_BYTES = 200 * 1024;
const docs = new URL('../../docs/', import.meta.url);

const missing = browserMissing();
if (missing !== undefined) {
  console.error(missing);
  process.exit(1);
}

const written: string[] = [];
async function shoot(page: Page, name: string): Promise<void> {
  const path = fileURLToPath(new URL(name, docs));
  // Nothing moving (a caret, a transition) in the picture.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.screenshot({ path, animations: 'disabled' });
  const bytes = statSync(path).size;
  console.log(`docs/${name}: ${(bytes / 1024).toFixed(0)} kB`);
  if (bytes > MAX_BYTES) throw new Error(`docs/${name} is ${bytes} bytes, more than ${MAX_BYTES}`);
  written.push(name);
}

async function apiDeployment(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'APIs', exact: true }).click();
  await page.getByRole('button', { name: 'Open API orders' }).click();
  await page.locator('tr[data-runtime]', { hasText: 'applied' }).waitFor({ timeout: 20_000 });
  await shoot(page, 'console-api-deployment.png');
}

async function auditLog(page: Page, { firstRevision }: ConsoleStack): Promise<void> {
  await page.getByLabel('Compare with revision').selectOption(String(firstRevision));
  await page.getByRole('button', { name: 'Roll back to this revision' }).click();
  await page.getByRole('dialog', { name: `Roll orders back to revision ${firstRevision}?` }).getByRole('button', { name: 'Roll back', exact: true }).click();
  await page.getByRole('status').filter({ hasText: `restores revision ${firstRevision}` }).waitFor();
  await page.getByRole('link', { name: 'Audit log', exact: true }).click();
  await page.getByLabel('Resource').fill('api/orders');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByRole('table', { name: 'Audit events, newest first' }).getByRole('row').filter({ hasText: 'api.rollback' }).waitFor();
  await shoot(page, 'console-audit-log.png');
}

async function gatewayPools(page: Page, { upstreams }: ConsoleStack): Promise<void> {
  await page.getByRole('link', { name: 'Gateways', exact: true }).click();
  const shop = page.locator('tr[data-pool="shop"] [data-testid="pool-health"]');
  await shop.filter({ hasText: /^2\/2 healthy$/ }).waitFor({ timeout: 20_000 });
  await upstreams[0]?.kill();
  await shop.filter({ hasText: /^1\/2 healthy$/ }).waitFor({ timeout: 20_000 });
  await shoot(page, 'console-gateway-pools.png');
}

let database: EmbeddedDatabase | undefined;
const stack = new Stack();
let browser: Browser | undefined;
try {
  database = await startEmbeddedDatabase();
  const running = await startConsoleStack(stack, database.url);
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  await signIn(page, running.controller);
  await apiDeployment(page);
  await auditLog(page, running);
  await gatewayPools(page, running);
  console.log(`${written.length} screenshots written under docs/`);
} finally {
  await browser?.close();
  await stack.close();
  await database?.stop();
}
