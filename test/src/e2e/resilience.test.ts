import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDatabaseProcess } from '../harness/database-process.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack } from '../harness/processes.ts';

describe('faults around the control plane', () => {
  let stack: Stack;
  let cleanups: (() => Promise<void>)[];

  beforeEach(() => {
    stack = new Stack();
    cleanups = [];
  });

  afterEach(async () => {
    await stack.close();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('serves a change committed right after PostgreSQL restarts under the controllers', async () => {
    // A PostgreSQL of its own, so that restarting it disturbs no other test.
    const database = await startDatabaseProcess();
    cleanups.push(() => database.stop());
    const [a, b] = await Promise.all([
      stack.controller({ databaseUrl: database.url, id: 'replica-a' }),
      stack.controller({ databaseUrl: database.url, id: 'replica-b' }),
    ]);
    const upstream = await stack.upstream('upstream-1');
    const runtime = await stack.runtime({ controllers: [b.xdsAddress] });
    await call(a.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: upstream.url } });

    await database.restart();
    // The first writes after the restart may meet connections that died with the old server.
    await eventually(async () => {
      const response = await call(a.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' } } });
      expect([200, 201]).toContain(response.status);
    }, { timeoutMs: 15_000, message: () => stack.tails() });
    await eventually(async () => {
      const response = await call(runtime.proxyUrl, 'GET', '/orders/', undefined, { token: null });
      expect(response.body?.upstream).toBe('upstream-1');
    }, { timeoutMs: 15_000, message: () => stack.tails() });
  });

  it('stops on SIGTERM well within a grace period with PostgreSQL gone and a runtime frozen', async () => {
    const database = await startDatabaseProcess();
    cleanups.push(() => database.stop());
    const controller = await stack.controller({ databaseUrl: database.url });
    await call(controller.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: 'http://127.0.0.1:9' } });
    const runtime = await stack.runtime({ controllers: [controller.xdsAddress] });
    await runtime.logLine('connected to controller');
    // A runtime that stops answering holds its stream open.
    runtime.child.kill('SIGSTOP');
    cleanups.push(async () => void runtime.child.kill('SIGCONT'));
    await database.stop();
    const started = performance.now();
    controller.child.kill('SIGTERM');
    await once(controller.child, 'exit');
    const tookMs = performance.now() - started;
    console.log(`controller stopped ${Math.round(tookMs)} ms after SIGTERM with its database gone`);
    // Orchestrators kill after a grace period (30 s by default in Kubernetes): a clean stop is well inside it.
    expect(tookMs).toBeLessThan(10_000);
  }, 60_000);

  it('starts a runtime from its cached config when no controller answers', async () => {
    const database = await startDatabaseProcess();
    cleanups.push(() => database.stop());
    const cacheDir = await mkdtemp(join(tmpdir(), 'causeway-cache-'));
    cleanups.push(() => rm(cacheDir, { recursive: true, force: true }));
    const controller = await stack.controller({ databaseUrl: database.url });
    const upstream = await stack.upstream('upstream-1');
    await call(controller.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: upstream.url } });
    await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' } } });
    const env = { CAUSEWAY_CACHE_DIR: cacheDir };
    const first = await stack.runtime({ controllers: [controller.xdsAddress], nodeId: 'cached', env });
    await eventually(async () => expect((await call(first.proxyUrl, 'GET', '/orders/', undefined, { token: null })).body?.upstream).toBe('upstream-1'));
    // The cache is written soon after an apply; wait until it holds the API.
    await eventually(async () => expect(await readFile(join(cacheDir, 'runtime-config.json'), 'utf8')).toContain('default/orders'));
    await first.kill();
    await controller.kill();

    const again = await stack.runtime({ controllers: [controller.xdsAddress], nodeId: 'cached', env });
    const ready = await eventually(async () => {
      const response = await call(again.adminUrl, 'GET', '/readyz', undefined, { token: null });
      expect(response.status).toBe(200);
      return response.body;
    }, { message: () => stack.tails() });
    expect(ready).toMatchObject({ source: 'cache', stale: true });
    expect((await call(again.proxyUrl, 'GET', '/orders/', undefined, { token: null })).body?.upstream).toBe('upstream-1');
    const metrics = await call(again.adminUrl, 'GET', '/metrics', undefined, { token: null });
    expect(metrics.text).toMatch(/serving_from_cache\S* 1/);
  });
});
