import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium (`.ci/run` installs it); never a browser download. */
const CHROMIUM = '/usr/bin/chromium';
const screenshots = fileURLToPath(new URL('../../../test-results/screenshots/', import.meta.url));

/**
 * Why the browser tests cannot run here, or undefined when they can. In CI they must run: a
 * missing Chromium fails there rather than skips.
 */
export function browserMissing(): string | undefined {
  if (existsSync(CHROMIUM) || process.env.CI === 'true') return undefined;
  return `browser tests skipped: ${CHROMIUM} is absent (apt-get install -y chromium)`;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/** Saved under test-results/screenshots/ as a test artifact. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: `${screenshots}${name}.png`, fullPage: true });
}
