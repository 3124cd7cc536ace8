import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

interface Route {
  readonly method: string;
  readonly url: string;
  readonly public: boolean;
}

/** What anyone may call, and what it answers; every other route needs the token. */
const documentedPublic = [
  'GET /console/',
  'GET /console/assets/:file',
  'GET /healthz',
  'GET /metrics',
  'GET /readyz',
  'GET /v1/openapi.json',
  'HEAD /console/',
  'HEAD /console/assets/:file',
  'HEAD /healthz',
  'HEAD /metrics',
  'HEAD /readyz',
  'HEAD /v1/openapi.json',
];
/** A file the console build made: the public asset route serves it (and 404s a made-up name). */
const consoleAsset = readdirSync(fileURLToPath(new URL('../../../console/dist/assets/', import.meta.url))).find((f) => f.endsWith('.js')) ?? 'missing.js';
const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const wrongToken = 'not-the-token';
const wrongTokenOfTheRightLength = `${TEST_TOKEN.slice(0, -1)}${TEST_TOKEN.endsWith('x') ? 'y' : 'x'}`;

/** A path that the route matches: parameters filled with plausible values. */
function concrete(url: string): string {
  return url.replace(':plural', 'apis').replace(':file', consoleAsset).replace(/:[A-Za-z]+/g, 'x');
}

const hex = (c: string): string => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;

/** Spellings of `path` that a URL-prefix check or a lenient router could take for it. */
function variants(path: string): string[] {
  const out = new Set<string>();
  for (let i = 0; i < path.length; i++) {
    const c = path[i] ?? '';
    // A request target starts with '/': the first one stays as it is.
    if (i > 0) out.add(`${path.slice(0, i)}${hex(c)}${path.slice(i + 1)}`);
    if (i > 0) out.add(`${path.slice(0, i)}${hex(c).toLowerCase()}${path.slice(i + 1)}`);
    if (c === '/') out.add(`${path.slice(0, i)}//${path.slice(i + 1)}`);
    if (/[a-z]/.test(c)) out.add(`${path.slice(0, i)}${c.toUpperCase()}${path.slice(i + 1)}`);
  }
  for (const v of [`${path}/`, path.toUpperCase(), `${path}?x=1`, `${path};x`, `${path}%00`, `${path}/..`]) out.add(v);
  out.delete(path);
  return [...out];
}

describe('admin API access', () => {
  let db: TestDatabase;
  let admin: AdminController;
  let pool: Pool;
  const routes: Route[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    // Thousands of refusals from one address: not slowed here, which another test covers.
    admin = await startAdminController(db.url, { CAUSEWAY_ADMIN_AUTH_FAILURES_PER_SECOND: '1000000' }, { onAdminRoute: (route) => routes.push(route) });
    pool = new Pool(admin.base, { connections: 16 });
  });

  afterAll(async () => {
    await pool.destroy();
    await admin.close();
    await db.drop();
  });

  async function send(method: string, path: string, authorization?: string): Promise<{ status: number; challenge: string | undefined; body: string }> {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    const response = await pool.request({ method, path, headers });
    const body = await response.body.text();
    const challenge = response.headers['www-authenticate'];
    return { status: response.statusCode, challenge: typeof challenge === 'string' ? challenge : undefined, body };
  }

  /** Runs `check` over `items`, 32 at a time, and returns every failure. */
  async function all<T>(items: readonly T[], check: (item: T) => Promise<string | undefined>): Promise<string[]> {
    const failures: string[] = [];
    for (let i = 0; i < items.length; i += 32) {
      for (const failure of await Promise.all(items.slice(i, i + 32).map(check))) if (failure !== undefined) failures.push(failure);
    }
    return failures;
  }

  function refused(answer: { status: number; challenge: string | undefined; body: string }, method: string): boolean {
    if (answer.status !== 401 || answer.challenge !== 'Bearer realm="causeway"') return false;
    return method === 'HEAD' || (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code === 'unauthenticated';
  }

  it('declares exactly the documented routes public, and every other registered route answers a valid token', async () => {
    expect(routes.length).toBeGreaterThan(30);
    expect(routes.filter((r) => r.public).map((r) => `${r.method} ${r.url}`).sort()).toEqual(documentedPublic);
    // The 401s below come from the token check, not from routes that match nothing.
    const failures = await all(routes, async (route) => {
      const answer = await send(route.method, concrete(route.url), `Bearer ${TEST_TOKEN}`);
      return answer.status === 401 || answer.status >= 500 ? `${route.method} ${route.url}: ${answer.status} ${answer.body}` : undefined;
    });
    expect(failures).toEqual([]);
  });

  it('regression: a percent-encoded, doubled-slash or re-cased path is no way around the token', async () => {
    const paths = [...new Set(routes.map((r) => concrete(r.url)))];
    const publicPaths = new Set(routes.filter((r) => r.public).map((r) => concrete(r.url)));
    const cases = paths.flatMap((path) => [path, ...variants(path)].flatMap((variant) => methods.map((method) => ({ path, variant, method }))));
    expect(cases.length).toBeGreaterThan(3_000);
    const failures = await all(cases, async ({ path, variant, method }) => {
      const answer = await send(method, variant);
      if (refused(answer, method)) return undefined;
      // A spelling of a public route may reach it (`/%68ealthz`); nothing else may answer.
      // The console's asset route is public for any file name, and answers one it lacks with its own 404.
      const consoleMiss = path.startsWith('/console/assets/') && answer.status === 404 && (method === 'HEAD' || answer.body.includes('no such console file'));
      const publicRead = publicPaths.has(path) && (method === 'GET' || method === 'HEAD') && (answer.status === 200 || consoleMiss);
      return publicRead ? undefined : `${method} ${variant}: ${answer.status} ${answer.body.slice(0, 120)}`;
    });
    expect(failures).toEqual([]);
    // The regression itself: `/%761/apis` listed APIs without a token.
    expect((await send('GET', '/%761/apis')).status).toBe(401);
  });

  it('refuses a missing, malformed, wrong, and wrong-but-same-length token on every protected route and method', async () => {
    const paths = [...new Set(routes.filter((r) => !r.public).map((r) => concrete(r.url)))];
    const authorizations = [undefined, `Bearer ${wrongToken}`, `Bearer ${wrongTokenOfTheRightLength}`, 'Bearer', `Basic ${TEST_TOKEN}`, TEST_TOKEN];
    expect(wrongTokenOfTheRightLength).toHaveLength(TEST_TOKEN.length);
    const cases = paths.flatMap((path) => methods.flatMap((method) => authorizations.map((authorization) => ({ path, method, authorization }))));
    const failures = await all(cases, async ({ path, method, authorization }) => {
      const answer = await send(method, path, authorization);
      return refused(answer, method) ? undefined : `${method} ${path} (${authorization ?? 'no token'}): ${answer.status} ${answer.body.slice(0, 120)}`;
    });
    expect(failures).toEqual([]);
  });

  it('serves the public routes without a token', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/v1/openapi.json', '/console/', `/console/assets/${consoleAsset}`]) {
      expect((await send('GET', path)).status, path).toBe(200);
    }
    // An unknown path reveals nothing without a token, and is a 404 with one.
    expect((await send('GET', '/v1/no-such-thing/at/all')).status).toBe(401);
    expect((await send('GET', '/v1/no-such-thing/at/all', `Bearer ${TEST_TOKEN}`)).status).toBe(404);
  });
});
