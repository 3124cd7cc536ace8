import { afterEach, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { createLogger, pack } from '@causeway/shared';
import { ZoneSchema } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { createRuntimeMetrics } from './metrics.ts';
import { api, cluster, response } from './testing/resources.ts';
import { ConfigApplier } from './config-applier.ts';

const appliers: ConfigApplier[] = [];

function newApplier(maxRequestTimeoutMs = 300_000): ConfigApplier {
  const applier = new ConfigApplier({
    zone: 'default',
    maxRequestTimeoutMs,
    metrics: createRuntimeMetrics(),
    log: createLogger('test', { level: 'silent' }),
    cache: undefined,
  });
  appliers.push(applier);
  return applier;
}

afterEach(async () => {
  await Promise.all(appliers.splice(0).map((s) => s.close()));
});

const main = cluster('acme/pool/main', [{ name: 'gw-1', url: 'http://127.0.0.1:1' }]);

describe('config applier', () => {
  it('applies clusters, then apis that use them', () => {
    const applier = newApplier();
    expect(applier.apply(response('cluster', 3, { 'acme/pool/main': main }))).toMatchObject({ ok: true, kind: 'cluster', revision: 3n });
    expect(applier.apply(response('api', 3, { 'acme/orders': api('acme/orders', { basePath: '/orders' }) }))).toMatchObject({
      ok: true,
      upserts: 1,
    });
    expect(applier.serving.routes.lookup('GET', 'x', '/orders/1')).toMatchObject({ name: 'acme/orders', cluster: 'acme/pool/main' });
    expect(applier.versions('api')).toEqual({ 'acme/orders': '3' });
    expect(applier.source).toBe('controller');
  });

  it('NACKs a stale revision and keeps its state', () => {
    const applier = newApplier();
    applier.apply(response('cluster', 5, { 'acme/pool/main': main }));
    const outcome = applier.apply(response('cluster', 4, {}, ['acme/pool/main']));
    expect(outcome).toEqual({ ok: false, kind: 'cluster', message: 'stale revision 4, already at 5' });
    expect(applier.resources.cluster.has('acme/pool/main')).toBe(true);
    expect(applier.revision).toBe(5n);
  });

  it('NACKs an update that breaks a rule and keeps serving the last good config', () => {
    const applier = newApplier();
    applier.apply(response('cluster', 1, { 'acme/pool/main': main }));
    applier.apply(response('api', 1, { 'acme/a': api('acme/a', { basePath: '/a' }) }));
    const before = applier.serving;
    const outcome = applier.apply(response('api', 2, { 'acme/b': api('acme/b', { basePath: '/b', cluster: 'acme/pool/none' }) }));
    expect(outcome).toEqual({ ok: false, kind: 'api', message: 'api "acme/b": cluster: "acme/pool/none" does not exist' });
    expect(applier.serving).toBe(before);
    expect(applier.revision).toBe(1n);
    expect(applier.serving.routes.lookup('GET', '', '/a')).toMatchObject({ name: 'acme/a' });
  });

  it('NACKs two apis claiming the same route', () => {
    const applier = newApplier();
    applier.apply(response('cluster', 1, { 'acme/pool/main': main }));
    applier.apply(response('api', 1, { 'acme/a': api('acme/a', { basePath: '/orders', hosts: ['a.com'] }) }));
    const outcome = applier.apply(response('api', 2, { 'acme/b': api('acme/b', { basePath: '/orders', hosts: ['a.com'], methods: ['GET'] }) }));
    expect(outcome).toEqual({
      ok: false,
      kind: 'api',
      message: 'api "acme/b": route GET a.com /orders is already served by api "acme/a"',
    });
  });

  it('NACKs a request timeout above the operator limit, naming the variable', () => {
    const applier = newApplier(10_000);
    applier.apply(response('cluster', 1, { 'acme/pool/main': main }));
    const outcome = applier.apply(response('api', 2, { 'acme/a': api('acme/a', { timeouts: { requestMs: 20_000 } }) }));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.message).toContain('CAUSEWAY_MAX_REQUEST_TIMEOUT_MS (10000)');
  });

  it('NACKs an unknown type and a resource of the wrong type', () => {
    const applier = newApplier();
    const unknown = response('api', 1, {});
    unknown.typeUrl = 'type.googleapis.com/causeway.config.v1.Nope';
    expect(applier.apply(unknown)).toEqual({
      ok: false,
      kind: undefined,
      message: 'unknown type_url "type.googleapis.com/causeway.config.v1.Nope"',
    });
    const wrong = response('api', 1, {});
    wrong.resources.push({
      $typeName: 'causeway.discovery.v1.Resource',
      name: 'acme/z',
      version: '1',
      resource: pack(ZoneSchema, create(ZoneSchema, { name: 'z' })),
    });
    const outcome = applier.apply(wrong);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.message).toBe('api "acme/z": resource type "type.googleapis.com/causeway.config.v1.Zone" is not type.googleapis.com/causeway.config.v1.Api');
  });

  it('removes resources, APIs before their cluster', () => {
    const applier = newApplier();
    applier.apply(response('cluster', 1, { 'acme/pool/main': main }));
    applier.apply(response('api', 1, { 'acme/a': api('acme/a', { basePath: '/a' }) }));
    expect(applier.apply(response('cluster', 2, {}, ['acme/pool/main'])).ok).toBe(false);
    expect(applier.apply(response('api', 2, {}, ['acme/a'])).ok).toBe(true);
    expect(applier.apply(response('cluster', 2, {}, ['acme/pool/main'])).ok).toBe(true);
    expect(applier.serving.routes.lookup('GET', '', '/a')).toBeUndefined();
    expect(applier.resources.cluster.size).toBe(0);
  });

  it('names the rejected API update as the cause when its old cluster cannot be removed', () => {
    const applier = newApplier(30_000);
    const other = cluster('acme/pool/other', [{ name: 'gw-2', url: 'http://127.0.0.1:2' }]);
    applier.apply(response('cluster', 1, { 'acme/pool/main': main }));
    applier.apply(response('api', 1, { 'acme/a': api('acme/a') }));
    // The controller moves the API to another cluster, with a timeout this runtime refuses...
    applier.apply(response('cluster', 2, { 'acme/pool/other': other }));
    const rejected = applier.apply(response('api', 2, { 'acme/a': api('acme/a', { cluster: 'acme/pool/other', timeouts: { requestMs: 60_000 } }) }));
    expect(rejected.ok).toBe(false);
    // ...then removes the old cluster, which the API in force still uses.
    const removal = applier.apply(response('cluster', 2, {}, ['acme/pool/main']));
    expect(removal).toEqual({
      ok: false,
      kind: 'cluster',
      message:
        'cluster "acme/pool/main": cannot be removed while api "acme/a" uses it (its update was rejected: ' +
        'api "acme/a": timeouts.request_ms: 60000 exceeds CAUSEWAY_MAX_REQUEST_TIMEOUT_MS (30000) of this runtime)',
    });
    // A fixed API is taken, and the cause is forgotten.
    expect(applier.apply(response('api', 3, { 'acme/a': api('acme/a', { cluster: 'acme/pool/other' }) })).ok).toBe(true);
    applier.apply(response('api', 4, { 'acme/a': api('acme/a') }));
    expect(applier.apply(response('cluster', 5, {}, ['acme/pool/main']))).toMatchObject({
      message: 'cluster "acme/pool/main": cannot be removed while api "acme/a" uses it',
    });
  });

  it('counts acks and nacks by type', async () => {
    const metrics = createRuntimeMetrics();
    const counted = new ConfigApplier({ zone: 'default', maxRequestTimeoutMs: 1000, metrics, log: createLogger('test', { level: 'silent' }), cache: undefined });
    appliers.push(counted);
    counted.apply(response('cluster', 1, { 'acme/pool/main': main }));
    counted.apply(response('cluster', 0, {}));
    const values = (await metrics.configApplies.get()).values.map((v) => [v.labels.type, v.labels.result, v.value]);
    expect(values).toEqual([
      ['cluster', 'ack', 1],
      ['cluster', 'nack', 1],
    ]);
  });
});
