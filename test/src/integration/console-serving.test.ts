import { get } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../../controller/src/admin-api/console-routes.ts';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';

/** Issue 17: every controller serves the console, cached by content hash, under a strict CSP. */
describe('the console as the controller serves it', () => {
  let db: TestDatabase;
  let admin: AdminController;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url);
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
  });

  it('serves the page without a token, always revalidated, under a CSP that allows only its own files and no framing', async () => {
    const response = await fetch(`${admin.base}/console/`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(CONSOLE_CSP);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    // No inline script and nothing from another origin: every script and style is a file of ours.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(body?.trim()).toBe('');
      expect(attributes).toMatch(/src="\/console\/assets\/[^"/]+\.js"/);
    }
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  /** A GET with exactly these headers (fetch would add and undo its own Accept-Encoding). */
  const raw = (url: string, headers: Record<string, string>) =>
    new Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
      get(url, { headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });

  it('sends the page and its assets gzip-compressed to a browser that accepts it, and as they are to one that does not', async () => {
    const html = await (await fetch(`${admin.base}/console/`)).text();
    const script = html.match(/src="(\/console\/assets\/[^"]+\.js)"/)?.[1] ?? '';
    for (const path of ['/console/', script]) {
      const plain = await raw(`${admin.base}${path}`, {});
      expect(plain.headers['content-encoding'], path).toBeUndefined();
      const refused = await raw(`${admin.base}${path}`, { 'accept-encoding': 'gzip;q=0, identity' });
      expect(refused.headers['content-encoding'], path).toBeUndefined();
      const gzipped = await raw(`${admin.base}${path}`, { 'accept-encoding': 'gzip, deflate, br' });
      expect(gzipped.headers['content-encoding'], path).toBe('gzip');
      expect(gzipped.headers.vary, path).toBe('accept-encoding');
      expect(gunzipSync(gzipped.body).equals(plain.body), path).toBe(true);
      if (path === script) expect(gzipped.body.length).toBeLessThan(plain.body.length / 2);
    }
  });

  it('serves each content-hashed asset as immutable for a year, and 404s a name it does not have', async () => {
    const html = await (await fetch(`${admin.base}/console/`)).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
    expect(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css'))).toBe(true);
    for (const asset of assets) {
      const response = await fetch(`${admin.base}${asset}`);
      const body = await response.arrayBuffer();
      expect(response.status, asset).toBe(200);
      expect(body.byteLength).toBeGreaterThan(0);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-type')).toMatch(asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const missing = await fetch(`${admin.base}/console/assets/index-nothing.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});
