import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { createLogger, formatAddress, PROTOCOL_VERSION, SOFTWARE_VERSION, typeUrls } from '@causeway/shared';
import { loadRuntimeConfig } from '../config.ts';
import { createRuntimeMetrics } from '../metrics.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { ConfigApplier } from '../config-applier.ts';
import { FakeController, type FakeStream } from '../testing/fake-controller.ts';
import { api, cluster, response } from '../testing/resources.ts';
import { metricValue } from '../testing/runtime-harness.ts';
import { closedPort, startUpstream } from '../testing/servers.ts';
import { XdsClient } from './xds-client.ts';

const silent = createLogger('test', { level: 'silent' });
const cleanups: (() => unknown)[] = [];
const agent = new Agent();
const fast = { backoff: { initialMs: 10, maxMs: 50 }, establishAfterMs: 20 } as const;

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(() => agent.close());

async function controller(): Promise<FakeController> {
  const fake = await FakeController.start();
  cleanups.push(() => fake.close());
  return fake;
}

async function runtime(controllers: string, reportIntervalMs?: number): Promise<Runtime> {
  const config = loadRuntimeConfig({
    CAUSEWAY_LISTEN_ADDR: '127.0.0.1:0',
    CAUSEWAY_RUNTIME_ADMIN_ADDR: '127.0.0.1:0',
    CAUSEWAY_CONTROLLERS: controllers,
    CAUSEWAY_ZONE: 'eu-1',
    CAUSEWAY_NODE_ID: 'rt-1',
    CAUSEWAY_NODE_LABELS: 'tier=edge',
    CAUSEWAY_XDS_INSECURE: 'true',
  });
  const rt = createRuntime(config, { logger: silent, shutdownGraceMs: 200, ...fast, ...(reportIntervalMs !== undefined && { reportIntervalMs }) });
  await rt.start();
  cleanups.push(() => rt.close());
  return rt;
}

async function get(rt: Runtime, path: string): Promise<number> {
  const res = await request(`http://${formatAddress(rt.proxyAddress)}${path}`, { dispatcher: agent });
  await res.body.dump();
  return res.statusCode;
}

async function subscriptions(stream: FakeStream) {
  return [await stream.next(), await stream.next(), await stream.next()] as const;
}

describe('xDS client', () => {
  it('subscribes, ACKs what it applies, NACKs what it rejects and keeps serving the last good config', async () => {
    const fake = await controller();
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    cleanups.push(() => upstream.close());
    const rt = await runtime(fake.address);
    const stream = await fake.nextStream();

    const [clusters, zones, apis] = await subscriptions(stream);
    expect([clusters.typeUrl, zones.typeUrl, apis.typeUrl]).toEqual([typeUrls.cluster, typeUrls.zone, typeUrls.api]);
    expect(clusters.node).toMatchObject({ id: 'rt-1', zone: 'eu-1', labels: { tier: 'edge' }, version: SOFTWARE_VERSION, protocolVersion: PROTOCOL_VERSION });
    expect(zones.node).toBeUndefined();
    for (const subscription of [clusters, zones, apis]) {
      expect(subscription.appliedRevision).toBe(0n);
      expect(subscription.initialResourceVersions).toEqual({});
      expect(subscription.responseNonce).toBe('');
    }

    const clusterResponse = response('cluster', 4, { 'acme/pool/main': cluster('acme/pool/main', [{ name: 'gw', url: upstream.url, zone: 'eu-1' }]) });
    stream.send(clusterResponse);
    const clusterAck = await stream.next();
    expect(clusterAck).toMatchObject({ typeUrl: typeUrls.cluster, responseNonce: clusterResponse.nonce, appliedRevision: 4n });
    expect(clusterAck.errorDetail).toBeUndefined();

    const apiResponse = response('api', 4, { 'acme/orders': api('acme/orders', { basePath: '/orders' }) });
    stream.send(apiResponse);
    expect(await stream.next()).toMatchObject({ typeUrl: typeUrls.api, responseNonce: apiResponse.nonce, appliedRevision: 4n });
    // The cluster is now in use: its members are news, so a report follows the ACK.
    const report = await stream.nextReport();
    expect(report.report?.appliedRevision).toBe(4n);
    expect(report.report?.sentAt).toBeDefined();
    expect(report.report?.members.map((m) => `${m.cluster}:${m.member}`)).toEqual(['acme/pool/main:gw']);
    expect(await get(rt, '/orders/1')).toBe(200);

    const bad = response('api', 5, { 'acme/bad': api('acme/bad', { basePath: '/bad', cluster: 'acme/pool/none' }) });
    stream.send(bad);
    const nack = await stream.next();
    expect(nack).toMatchObject({
      typeUrl: typeUrls.api,
      responseNonce: bad.nonce,
      appliedRevision: 4n,
      errorDetail: { code: 3, message: 'api "acme/bad": cluster: "acme/pool/none" does not exist' },
    });
    expect(await get(rt, '/orders/1')).toBe(200);
    expect(await get(rt, '/bad')).toBe(404);

    const stale = response('api', 3, {}, ['acme/orders']);
    stream.send(stale);
    expect((await stream.next()).errorDetail?.message).toBe('stale revision 3, already at 4');
    expect(await get(rt, '/orders/1')).toBe(200);
    expect(rt.status()).toMatchObject({ revision: 4n, source: 'controller', connected: true, controller: fake.address });
  });

  it('shows its replication lag from the revision the controller says is committed, and an empty response brings it to that revision', async () => {
    const fake = await controller();
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    cleanups.push(() => upstream.close());
    const rt = await runtime(fake.address);
    const stream = await fake.nextStream();
    await subscriptions(stream);

    stream.send({ ...response('cluster', 4, { 'acme/pool/main': cluster('acme/pool/main', [{ name: 'gw', url: upstream.url, zone: 'eu-1' }]) }), databaseRevision: 9n });
    expect((await stream.next()).appliedRevision).toBe(4n);
    stream.send({ ...response('api', 4, { 'acme/orders': api('acme/orders', { basePath: '/orders' }) }), databaseRevision: 9n });
    expect((await stream.next()).appliedRevision).toBe(4n);
    expect(await metricValue(rt, 'replicationLag')).toBe(5);

    // Revisions 5 to 9 changed nothing this runtime holds: the controller says so with an empty response.
    const progress = { ...response('api', 9, {}), databaseRevision: 9n };
    stream.send(progress);
    const ack = await stream.next();
    expect(ack).toMatchObject({ typeUrl: typeUrls.api, responseNonce: progress.nonce, appliedRevision: 9n });
    expect(ack.errorDetail).toBeUndefined();
    expect(await metricValue(rt, 'replicationLag')).toBe(0);
    expect(await metricValue(rt, 'appliedRevision')).toBe(9);
    expect(await get(rt, '/orders/1')).toBe(200);
  });

  it('reconnects after the stream ends and sends the versions it holds', async () => {
    const fake = await controller();
    const rt = await runtime(fake.address);
    const first = await fake.nextStream();
    await subscriptions(first);
    first.send(response('cluster', 7, { 'acme/pool/main': cluster('acme/pool/main', [{ name: 'gw', url: 'http://127.0.0.1:1' }]) }, [], '6'));
    await first.next();
    first.call.emit('error', { code: GrpcStatus.UNAVAILABLE, details: 'controller going away' });

    const second = await fake.nextStream();
    const [clusters, zones, apis] = await subscriptions(second);
    expect(clusters.node?.id).toBe('rt-1');
    expect(clusters.initialResourceVersions).toEqual({ 'acme/pool/main': '6' });
    expect(zones.initialResourceVersions).toEqual({});
    expect(apis.appliedRevision).toBe(7n);
    expect((await rt.metrics.xdsReconnects.get()).values[0]?.value).toBe(1);
  });

  it('comes back quickly to a controller that restarted on the same address', async () => {
    const first = await FakeController.start();
    const rt = await runtime(first.address);
    await subscriptions(await first.nextStream());
    await vi.waitFor(() => expect(rt.status().connected).toBe(true));
    first.close();
    // Let a few attempts fail while nothing listens.
    await vi.waitFor(async () => expect((await rt.metrics.xdsReconnects.get()).values[0]?.value).toBeGreaterThanOrEqual(3));
    const second = await FakeController.start(first.port);
    cleanups.push(() => second.close());
    const started = performance.now();
    const [clusters] = await subscriptions(await second.nextStream());
    expect(clusters.node?.id).toBe('rt-1');
    // Paced by our backoff (max 50 ms here), not by grpc-js's subchannel backoff (1 s+).
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('moves on to the next controller when one cannot be reached', async () => {
    const fake = await controller();
    const rt = await runtime(`127.0.0.1:${await closedPort()},${fake.address}`);
    const stream = await fake.nextStream();
    const [clusters] = await subscriptions(stream);
    expect(clusters.node?.id).toBe('rt-1');
    stream.send(response('zone', 1, {}));
    await stream.next();
    expect(rt.status()).toMatchObject({ connected: true, controller: fake.address });
  });

  it('reports a member that died soon after its state changed, with the reason', async () => {
    const fake = await controller();
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    cleanups.push(() => upstream.close());
    // The periodic report is far away: only the prompt report on a state change can arrive.
    const rt = await runtime(fake.address, 60_000);
    const stream = await fake.nextStream();
    await subscriptions(stream);
    const healthCheck = { path: '/health', intervalMs: 100, timeoutMs: 100, healthyThreshold: 1, unhealthyThreshold: 1 };
    stream.send(response('cluster', 2, {
      'acme/pool/main': cluster('acme/pool/main', [
        { name: 'gw-1', url: upstream.url, zone: 'eu-1', healthCheck },
        { name: 'gw-2', url: `http://127.0.0.1:${await closedPort()}`, zone: 'eu-1', healthCheck },
      ]),
    }));
    await stream.next();
    stream.send(response('api', 2, { 'acme/orders': api('acme/orders', { basePath: '/orders' }) }));
    await stream.next();
    const applied = performance.now();
    // The reports sent on ACK come first; the member list fills once the API uses the cluster.
    const deadline = new Promise<never>((_resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no report of the dead member within 2 s')), 2_000);
      cleanups.push(() => clearTimeout(timer));
    });
    let report = await Promise.race([stream.nextReport(), deadline]);
    while (report.report?.members.some((m) => !m.healthy) !== true) report = await Promise.race([stream.nextReport(), deadline]);
    expect(performance.now() - applied).toBeLessThan(2_000);
    expect(report.report?.members.map((m) => ({ cluster: m.cluster, member: m.member, healthy: m.healthy, reason: m.reason }))).toEqual([
      { cluster: 'acme/pool/main', member: 'gw-1', healthy: true, reason: 'ok' },
      { cluster: 'acme/pool/main', member: 'gw-2', healthy: false, reason: 'health check failed: connect ECONNREFUSED' },
    ]);
    expect(rt.status().connected).toBe(true);
  });

  it('logs clearly when the controller refuses its version', async () => {
    const fake = await controller();
    const log = createLogger('test', { level: 'silent' });
    const errors = vi.spyOn(log, 'error');
    const metrics = createRuntimeMetrics();
    const applier = new ConfigApplier({ zone: 'eu-1', maxRequestTimeoutMs: 1000, metrics, log, cache: undefined });
    const client = new XdsClient({
      controllers: [{ host: '127.0.0.1', port: fake.port }],
      node: { id: 'rt-old', zone: 'eu-1', labels: {} },
      target: applier,
      log,
      metrics,
      backoff: fast.backoff,
    });
    cleanups.push(() => applier.close(), () => client.close());
    client.start();
    const details = 'runtime rt-old speaks protocol 0; this controller speaks protocol 1';
    for (let attempt = 0; attempt < 2; attempt++) {
      const stream = await fake.nextStream();
      await stream.next();
      stream.call.emit('error', { code: GrpcStatus.FAILED_PRECONDITION, details });
    }
    // It keeps trying (a newer controller may come), but says it once per streak.
    await fake.nextStream();
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors).toHaveBeenCalledWith(
      expect.objectContaining({ code: 'FAILED_PRECONDITION', details, controller: fake.address }),
      'controller refused this runtime: incompatible versions',
    );
    expect(client.connected).toBe(false);
  });
});
