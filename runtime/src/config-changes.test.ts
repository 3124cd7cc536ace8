import { apiRules } from '@causeway/shared';
import { Pool } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@causeway/shared';
import { createRuntimeMetrics, type RuntimeMetrics } from './metrics.ts';
import { RouteTree } from './routing/route-tree.ts';
import type { ApiRoute } from './routing/serving-config.ts';
import { api, cluster, response, zone, type ApiInit } from './testing/resources.ts';
import { ConfigApplier } from './config-applier.ts';

const appliers: ConfigApplier[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(appliers.splice(0).map((s) => s.close()));
});

function newApplier(metrics: RuntimeMetrics = createRuntimeMetrics()): ConfigApplier {
  const applier = new ConfigApplier({ zone: 'eu-1', maxRequestTimeoutMs: 60_000, metrics, log: createLogger('test', { level: 'silent' }), cache: undefined });
  appliers.push(applier);
  return applier;
}

const main = cluster('acme/pool/main', [
  { name: 'gw-1', url: 'http://127.0.0.1:1', zone: 'eu-1' },
  { name: 'gw-2', url: 'http://127.0.0.1:2', zone: 'eu-2' },
]);
const other = cluster('acme/pool/other', [{ name: 'gw-3', url: 'http://127.0.0.1:3', zone: 'eu-1' }]);

/** A applier with two clusters, a DTC zone and `count` APIs at /api-<i> (every third one failing over). */
function loaded(count: number, metrics?: RuntimeMetrics): ConfigApplier {
  const applier = newApplier(metrics);
  applier.apply(response('cluster', 1, { 'acme/pool/main': main, 'acme/pool/other': other }));
  applier.apply(response('zone', 1, { 'eu-2': zone('eu-2', 'http://127.0.0.1:4') }));
  const apis: Record<string, ReturnType<typeof api>> = {};
  for (let i = 0; i < count; i++) apis[`acme/api-${i}`] = api(`acme/api-${i}`, { basePath: `/api-${i}`, ...(i % 3 === 0 && { failover: { enabled: true } }) });
  expect(applier.apply(response('api', 1, apis)).ok).toBe(true);
  return applier;
}

function route(applier: ConfigApplier, method: string, host: string, path: string): ApiRoute | undefined {
  const found = applier.serving.routes.lookup(method, host, path);
  return typeof found === 'symbol' ? undefined : found;
}

describe('applying config changes', () => {
  it('applying one API change does not re-register unchanged routes or rebind metrics', () => {
    const applier = loaded(100);
    const registrations = vi.spyOn(RouteTree.prototype, 'ensure');
    const untouched = applier.serving.apis.get('acme/api-7');
    const before = applier.serving.apis.get('acme/api-1');

    applier.apply(response('api', 2, { 'acme/api-1': api('acme/api-1', { basePath: '/api-1', timeouts: { requestMs: 1234 } }) }));
    expect(registrations.mock.calls).toEqual([['/api-1']]); // the changed API's own route only
    const after = route(applier, 'GET', '', '/api-1/x');
    expect(after?.requestTimeoutMs).toBe(1234);
    expect(after).not.toBe(before); // replaced, not changed in place: requests in flight keep `before`
    expect(before?.requestTimeoutMs).toBe(apiRules.timeouts.requestMs.default);
    expect(after?.metrics).toBe(before?.metrics); // metric series are bound once per API (see below)
    expect(applier.serving.apis.get('acme/api-7')).toBe(untouched);

    // A new base path registers that one path, nothing else.
    applier.apply(response('api', 3, { 'acme/api-1': api('acme/api-1', { basePath: '/v2/api-1' }) }));
    expect(registrations.mock.calls).toEqual([['/api-1'], ['/v2/api-1']]);
    expect(route(applier, 'GET', '', '/api-1/x')).toBeUndefined();
    expect(route(applier, 'GET', '', '/v2/api-1/x')?.name).toBe('acme/api-1');
    expect(applier.serving.apis.get('acme/api-7')).toBe(untouched);
  });

  it('binds metric series once per API and drops them with the API', async () => {
    const metrics = createRuntimeMetrics();
    const applier = loaded(3, metrics);
    const labels = vi.spyOn(metrics.requests, 'labels');
    const count = (): void => route(applier, 'GET', '', '/api-1')?.metrics.requests[1]?.inc();
    count();
    count();
    expect(labels).toHaveBeenCalledTimes(5); // one per status class, on first use
    applier.apply(response('api', 2, { 'acme/api-1': api('acme/api-1', { basePath: '/api-1', retries: { attempts: 2 } }) }));
    count();
    expect(labels).toHaveBeenCalledTimes(5);
    expect((await metrics.requests.get()).values.map((v) => [v.labels.api, v.value])).toEqual([['acme/api-1', 3]]);
    applier.apply(response('api', 3, {}, ['acme/api-1']));
    expect((await metrics.requests.get()).values).toEqual([]);
    applier.apply(response('api', 4, { 'acme/api-1': api('acme/api-1', { basePath: '/api-1' }) }));
    count();
    expect(labels).toHaveBeenCalledTimes(10); // the API came back: bound again
  });

  it('a NACKed update leaves routes, clusters and metrics exactly as before', async () => {
    const metrics = createRuntimeMetrics();
    const applier = loaded(6, metrics);
    route(applier, 'GET', '', '/api-0')?.metrics.requests[1]?.inc();
    const snapshot = async (): Promise<unknown> => ({
      apis: [...applier.serving.apis],
      lookups: ['/api-0/x', '/api-1', '/api-5/y', '/new', '/moved'].map((path) => route(applier, 'GET', '', path)),
      state: { cluster: applier.versions('cluster'), zone: applier.versions('zone'), api: applier.versions('api'), revision: applier.revision },
      members: applier.memberReports(),
      health: ['gw-1', 'gw-2'].map((m, i) => applier.memberHealth('acme/pool/main', m, `http://127.0.0.1:${i + 1}`)),
      dtc: applier.health.dtc.describe('eu-2'),
      metrics: (await metrics.registry.metrics()).split('\n').filter((line) => !line.includes('config_applies')),
    });
    const serving = applier.serving;
    const pools = [...applier.serving.apis.values()].flatMap((r) => r.local.flat().map((t) => t.dispatcher as Pool));
    const before = await snapshot();
    const registrations = vi.spyOn(RouteTree.prototype, 'ensure');
    const closes = vi.spyOn(Pool.prototype, 'close');

    const nacks = [
      // Built (a new pool, failover zones, metric series, a cluster coming into use) before the route conflict is found.
      response('api', 2, {
        'acme/api-1': api('acme/api-1', { basePath: '/moved', timeouts: { connectMs: 777 }, failover: { enabled: true } }),
        'acme/api-2': api('acme/api-2', { basePath: '/api-2', cluster: 'acme/pool/other' }),
        'acme/new': api('acme/new', { basePath: '/api-5' }),
      }),
      response('api', 2, { 'acme/new': api('acme/new', { basePath: '/new', cluster: 'acme/pool/none' }) }),
      response('api', 2, { 'acme/api-2': api('acme/api-2', { basePath: '/api-2', timeouts: { requestMs: 60_001 } }) }, ['acme/api-3']),
      response('cluster', 2, { 'acme/pool/main': cluster('acme/pool/main', [{ name: 'gw-9', url: 'ftp://x' }]) }),
      response('cluster', 2, { 'acme/pool/other': other }, ['acme/pool/main']),
      response('zone', 2, { 'eu-2': zone('eu-2', 'tcp://nope') }),
    ];
    for (const nack of nacks) expect(applier.apply(nack).ok).toBe(false);
    expect(registrations).not.toHaveBeenCalled();
    expect(applier.serving).toBe(serving);
    expect(await snapshot()).toEqual(before);
    // The pools built for the rejected update (new connect timeout, new cluster) were closed; those in use were not.
    expect(closes).toHaveBeenCalled();
    for (const pool of closes.mock.contexts) expect(pools).not.toContain(pool);
    expect(pools.some((pool) => pool.closed)).toBe(false);
  });

  it('moves an API whose hosts change, keeping host-specific APIs ahead of host-less ones', () => {
    const applier = loaded(3);
    const add = (revision: number, name: string, init: ApiInit): void => {
      expect(applier.apply(response('api', revision, { [name]: api(name, init) }))).toMatchObject({ ok: true });
    };
    add(2, 'acme/a-root', { basePath: '/', hosts: ['a.com'] });
    expect(route(applier, 'GET', 'a.com', '/api-1/x')?.name).toBe('acme/a-root');
    expect(route(applier, 'GET', 'b.com', '/api-1/x')?.name).toBe('acme/api-1');
    add(3, 'acme/a-root', { basePath: '/', hosts: ['b.com'] });
    expect(route(applier, 'GET', 'a.com', '/api-1/x')?.name).toBe('acme/api-1');
    expect(route(applier, 'GET', 'b.com', '/api-1/x')?.name).toBe('acme/a-root');
    add(4, 'acme/a-root', { basePath: '/', hosts: ['b.com'], methods: ['POST'] });
    expect(route(applier, 'GET', 'b.com', '/api-1/x')?.name).toBe('acme/api-1');
    expect(route(applier, 'POST', 'b.com', '/api-1/x')?.name).toBe('acme/a-root');
    expect(applier.apply(response('api', 5, {}, ['acme/a-root'])).ok).toBe(true);
    expect(route(applier, 'POST', 'b.com', '/api-1/x')?.name).toBe('acme/api-1');
    expect(route(applier, 'POST', 'b.com', '/')).toBeUndefined();
  });

  it('rebuilds the routes of the APIs using a changed cluster, and only those', () => {
    const applier = loaded(3);
    applier.apply(response('api', 2, { 'acme/on-other': api('acme/on-other', { basePath: '/other', cluster: 'acme/pool/other' }) }));
    const onMain = applier.serving.apis.get('acme/api-1');
    const onOther = applier.serving.apis.get('acme/on-other');
    applier.apply(response('cluster', 3, { 'acme/pool/other': cluster('acme/pool/other', [{ name: 'gw-4', url: 'http://127.0.0.1:5', zone: 'eu-1' }]) }));
    expect(applier.serving.apis.get('acme/api-1')).toBe(onMain);
    expect(route(applier, 'GET', '', '/other')?.members.map((m) => m.name)).toEqual(['gw-4']);
    expect(applier.serving.apis.get('acme/on-other')).not.toBe(onOther);
    expect(applier.memberHealth('acme/pool/other', 'gw-3', 'http://127.0.0.1:3')).toBeUndefined();
  });

  it('a change of member health alone keeps the routes of the APIs using the cluster', () => {
    const applier = loaded(50);
    const before = applier.serving.apis.get('acme/api-1');
    const down = cluster('acme/pool/main', [
      { name: 'gw-1', url: 'http://127.0.0.1:1', zone: 'eu-1', unhealthy: true },
      { name: 'gw-2', url: 'http://127.0.0.1:2', zone: 'eu-2' },
    ]);
    expect(applier.apply(response('cluster', 2, { 'acme/pool/main': down })).ok).toBe(true);
    const after = route(applier, 'GET', '', '/api-1');
    expect(after).toBe(before);
    expect(after?.members[0]?.live.state).toMatchObject({ kind: 'unhealthy', reason: 'marked unhealthy by the control plane' });
    // A new member URL is a new member: the routes are rebuilt with it.
    const moved = cluster('acme/pool/main', [{ name: 'gw-1', url: 'http://127.0.0.1:7', zone: 'eu-1' }]);
    expect(applier.apply(response('cluster', 3, { 'acme/pool/main': moved })).ok).toBe(true);
    expect(route(applier, 'GET', '', '/api-1')?.members.map((m) => [m.url, m.live.state.kind])).toEqual([['http://127.0.0.1:7', 'healthy']]);
  });

  it('rebuilds only failover-enabled APIs when a zone changes', () => {
    const applier = loaded(3);
    const plain = applier.serving.apis.get('acme/api-1');
    expect(route(applier, 'GET', '', '/api-0')?.failover.map((f) => f.dtc?.state.url)).toEqual(['http://127.0.0.1:4']);
    applier.apply(response('zone', 2, { 'eu-2': zone('eu-2', 'http://127.0.0.1:6') }));
    expect(applier.serving.apis.get('acme/api-1')).toBe(plain);
    expect(route(applier, 'GET', '', '/api-0')?.failover.map((f) => f.dtc?.state.url)).toEqual(['http://127.0.0.1:6']);
    expect(applier.health.dtc.describe('eu-2')?.url).toBe('http://127.0.0.1:6');
    applier.apply(response('zone', 3, {}, ['eu-2']));
    expect(route(applier, 'GET', '', '/api-0')?.failover).toEqual([]);
    expect(applier.health.dtc.describe('eu-2')).toBeUndefined();
  });

  it('reports the members of a cluster while some API uses it, and stops when the last one leaves', () => {
    const applier = loaded(2);
    const clusters = (): string[] => [...new Set(applier.memberReports().map((r) => r.cluster))];
    expect(clusters()).toEqual(['acme/pool/main']);
    applier.apply(response('api', 2, { 'acme/api-0': api('acme/api-0', { basePath: '/api-0', cluster: 'acme/pool/other' }) }));
    expect(clusters()).toEqual(['acme/pool/main', 'acme/pool/other']);
    applier.apply(response('api', 3, { 'acme/api-1': api('acme/api-1', { basePath: '/api-1', cluster: 'acme/pool/other' }) }));
    expect(clusters()).toEqual(['acme/pool/other']);
    expect(applier.apply(response('cluster', 4, {}, ['acme/pool/main'])).ok).toBe(true);
  });
});
