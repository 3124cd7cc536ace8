import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@causeway/shared';
import { api, cluster, zone } from '../testing/resources.ts';
import { emptyResources, mergeUpdate, type Resources } from '../resources/resources.ts';
import { cacheFileName, ConfigCache } from './config-cache.ts';

const log = createLogger('test', { level: 'silent' });
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'causeway-cache-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sampleResources(): Resources {
  let resources = mergeUpdate(emptyResources, {
    kind: 'cluster',
    revision: 41n,
    upserts: new Map([['acme/pool/p', { version: '40', message: cluster('acme/pool/p', [{ name: 'gw', url: 'http://10.0.0.1:80', unhealthy: true }]) }]]),
    removals: [],
  });
  resources = mergeUpdate(resources, {
    kind: 'zone',
    revision: 41n,
    upserts: new Map([['eu-1', { version: '3', message: zone('eu-1', 'https://eu-1.example.com') }]]),
    removals: [],
  });
  return mergeUpdate(resources, {
    kind: 'api',
    revision: 42n,
    upserts: new Map([['acme/orders', { version: '42', message: api('acme/orders', { hosts: ['a.com'], basePath: '/orders', stripBasePath: true, cluster: 'acme/pool/p', timeouts: { requestMs: 1500 } }) }]]),
    removals: [],
  });
}

async function eventuallyRevision(cache: ConfigCache, revision: bigint): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await cache.load().catch(() => undefined))?.revision !== revision) {
    if (Date.now() > deadline) throw new Error(`the cache did not reach revision ${revision}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('config cache', () => {
  it('round-trips every resource with its version and the revision', async () => {
    const cache = new ConfigCache(join(dir, 'nested'), log);
    const resources = sampleResources();
    cache.save(resources);
    await cache.flush();
    const loaded = await cache.load();
    expect(loaded?.revision).toBe(42n);
    expect(loaded?.api.get('acme/orders')).toEqual(resources.api.get('acme/orders'));
    expect(loaded?.cluster.get('acme/pool/p')).toEqual(resources.cluster.get('acme/pool/p'));
    expect(loaded?.zone.get('eu-1')).toEqual(resources.zone.get('eu-1'));
  });

  it('leaves only the cache file behind (written through a renamed temporary file)', async () => {
    const cache = new ConfigCache(dir, log);
    cache.save(sampleResources());
    cache.save(emptyResources);
    await cache.flush();
    expect(await readdir(dir)).toEqual([cacheFileName]);
    expect((await cache.load())?.revision).toBe(0n);
  });

  it('writes a burst of changes once at once and once more after the interval, with the newest state', async () => {
    const cache = new ConfigCache(dir, log, 300);
    const first = sampleResources();
    cache.save(first);
    await eventuallyRevision(cache, 42n);
    const second = mergeUpdate(first, { kind: 'api', revision: 43n, upserts: new Map(), removals: ['acme/orders'] });
    const third = mergeUpdate(second, { kind: 'zone', revision: 44n, upserts: new Map(), removals: ['eu-1'] });
    cache.save(second);
    cache.save(third);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Still inside the interval: the file holds the first write.
    expect((await cache.load())?.revision).toBe(42n);
    await eventuallyRevision(cache, 44n);
    const loaded = await cache.load();
    expect(loaded?.api.size).toBe(0);
    expect(loaded?.zone.size).toBe(0);
    expect(loaded?.cluster.get('acme/pool/p')).toEqual(third.cluster.get('acme/pool/p'));
  });

  it('flush writes what waits for the interval at once', async () => {
    const cache = new ConfigCache(dir, log, 60_000);
    cache.save(emptyResources);
    await cache.flush();
    cache.save(sampleResources());
    await cache.flush();
    expect((await cache.load())?.revision).toBe(42n);
  });

  it('has nothing to load before the first write', async () => {
    expect(await new ConfigCache(dir, log).load()).toBeUndefined();
  });

  it.each([
    ['not JSON', '{"format": '],
    ['another format', JSON.stringify({ format: 'x' })],
    ['a bad message', JSON.stringify({ format: 'causeway.runtime.cache/v1', revision: '1', resources: { cluster: [{ name: 'c', version: '1', message: { members: 7 } }], zone: [], api: [] } })],
  ])('ignores a corrupt file (%s)', async (_name, text) => {
    await writeFile(join(dir, cacheFileName), text);
    const warnings: string[] = [];
    const spy = { warn: (_fields: unknown, message?: string) => void warnings.push(message ?? '') };
    expect(await new ConfigCache(dir, spy).load()).toBeUndefined();
    expect(warnings).toEqual(['the config cache is corrupt; ignoring it']);
  });
});
