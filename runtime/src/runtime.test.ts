import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { request } from 'undici';
import { formatAddress } from '@causeway/shared';
import type { Runtime } from './runtime.ts';
import { api, cluster, response, type ApiInit, type MemberInit } from './testing/resources.ts';
import { RuntimeHarness } from './testing/runtime-harness.ts';
import { closedPort, readBody, type Upstream } from './testing/servers.ts';

let h: RuntimeHarness;

beforeEach(() => {
  h = new RuntimeHarness();
});

afterEach(async () => {
  await h.close();
});

const upstream = (handler: Parameters<RuntimeHarness['upstream']>[0]): Promise<Upstream> => h.upstream(handler);

const runtime = (env: Record<string, string> = {}, random?: () => number): Promise<Runtime> => h.runtime(env, random === undefined ? {} : { random });

/** Applies one cluster and one API the way the config stream would. */
function serve(rt: Runtime, members: readonly MemberInit[], init: ApiInit, revision = 1): void {
  expect(rt.applyResponse(response('cluster', revision, { 'acme/pool/main': cluster('acme/pool/main', members) }))).toMatchObject({ ok: true });
  expect(rt.applyResponse(response('api', revision, { 'acme/orders': api('acme/orders', init) }))).toMatchObject({ ok: true });
}

function url(rt: Runtime, path: string): string {
  return `http://${formatAddress(rt.proxyAddress)}${path}`;
}

const call: RuntimeHarness['call'] = (rt, path, options) => h.call(rt, path, options);

/** A request through node:http, which sends the path and headers exactly as given. */
function rawCall(rt: Runtime, path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: rt.proxyAddress.host, port: rt.proxyAddress.port, path, headers, agent: false }, (res) => {
      readBody(res).then((body) => resolve({ status: res.statusCode ?? 0, text: body.toString() }), reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** An upstream that answers with what it received. */
async function echo(name = 'echo'): Promise<Upstream> {
  return upstream(async (req, res) => {
    const body = await readBody(req);
    res.setHeader('content-type', 'application/json');
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.end(
      JSON.stringify({
        name,
        method: req.method,
        url: req.url,
        headers: req.headers,
        bodyLength: body.length,
        bodySha256: createHash('sha256').update(body).digest('hex'),
      }),
    );
  });
}

describe('runtime proxy', () => {
  it('streams a large POST body to the upstream intact, with the base path stripped', async () => {
    const up = await echo();
    const rt = await runtime();
    serve(rt, [{ name: 'gw-1', url: `${up.url}/base`, zone: 'eu-1' }], { basePath: '/orders', stripBasePath: true });
    const chunks = Array.from({ length: 64 }, () => randomBytes(64 * 1024));
    const expected = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
    const res = await call(rt, '/orders/1?x=2', { method: 'POST', body: Readable.from(chunks) });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.text);
    expect(seen).toMatchObject({ method: 'POST', url: '/base/1?x=2', bodyLength: 64 * 64 * 1024, bodySha256: expected });
    expect(seen.headers['transfer-encoding']).toBe('chunked');
  });

  it('streams a large response back while the upload is still streaming up', async () => {
    const mirror = await upstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    const rt = await runtime();
    serve(rt, [{ name: 'gw-1', url: mirror.url, zone: 'eu-1' }], { basePath: '/' });
    const chunks = Array.from({ length: 128 }, () => randomBytes(32 * 1024));
    const res = await request(url(rt, '/mirror'), { dispatcher: h.agent, method: 'PUT', body: Readable.from(chunks) });
    const received = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    expect(received.equals(Buffer.concat(chunks))).toBe(true);
  });

  it('abandons the upstream request when the client goes away', async () => {
    let upstreamClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    let arrived: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    const held = await upstream((req) => {
      req.socket.once('close', upstreamClosed);
      arrived();
    });
    const rt = await runtime();
    serve(rt, [{ name: 'held', url: held.url, zone: 'eu-1' }], { basePath: '/' });
    const controller = new AbortController();
    const pending = request(url(rt, '/wait'), { dispatcher: h.agent, signal: controller.signal });
    await inFlight;
    controller.abort();
    await expect(pending).rejects.toThrow();
    await closed;
  });

  it('sends X-Forwarded-* and a generated X-Request-Id upstream and back', async () => {
    const up = await echo();
    const rt = await runtime();
    serve(rt, [{ name: 'gw-1', url: up.url, zone: 'eu-1' }], { basePath: '/orders', stripBasePath: true });
    const res = await call(rt, '/orders', { headers: { host: 'Shop.Example.com:8443', 'x-forwarded-for': '203.0.113.9' } });
    const seen = JSON.parse(res.text);
    expect(seen.url).toBe('/');
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('Shop.Example.com:8443');
    expect(seen.headers.host).toBe(`127.0.0.1:${up.port}`);
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-request-id']).toBe(seen.headers['x-request-id']);
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('drops hop-by-hop headers, including those named in Connection', async () => {
    const up = await echo();
    const rt = await runtime();
    serve(rt, [{ name: 'gw-1', url: up.url, zone: 'eu-1' }], { basePath: '/' });
    const res = await rawCall(rt, '/a', { connection: 'keep-alive, x-secret', 'x-secret': 'hop', 'proxy-authorization': 'p', te: 'trailers', 'x-kept': 'yes' });
    const seen = JSON.parse(res.text);
    expect(seen.headers['x-secret']).toBeUndefined();
    expect(seen.headers['proxy-authorization']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(seen.headers['x-kept']).toBe('yes');
  });

  it("keeps the client's X-Request-Id", async () => {
    const up = await echo();
    const rt = await runtime();
    serve(rt, [{ name: 'gw-1', url: up.url, zone: 'eu-1' }], { basePath: '/' });
    const res = await call(rt, '/a', { headers: { 'x-request-id': 'req-123' } });
    expect(JSON.parse(res.text).headers['x-request-id']).toBe('req-123');
    expect(res.headers['x-request-id']).toBe('req-123');
  });

  it('answers 404 no_route in JSON for an unknown route', async () => {
    const up = await echo();
    const rt = await runtime();
    serve(rt, [{ name: 'gw-1', url: up.url, zone: 'eu-1' }], { basePath: '/orders', hosts: ['shop.example.com'] });
    const res = await call(rt, '/ordersx/1', { method: 'DELETE', headers: { host: 'shop.example.com' } });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(res.text)).toEqual({
      error: {
        code: 'no_route',
        message: 'no API serves DELETE shop.example.com/ordersx/1',
        method: 'DELETE',
        host: 'shop.example.com',
        path: '/ordersx/1',
      },
    });
  });

  it('answers 503 no_healthy_upstream at once when every member is unhealthy', async () => {
    const up = await echo();
    const rt = await runtime();
    serve(
      rt,
      [
        { name: 'gw-1', url: up.url, zone: 'eu-1', unhealthy: true },
        { name: 'gw-2', url: up.url, zone: 'eu-2', unhealthy: true },
      ],
      { basePath: '/orders', upstreamLabel: 'pool/main' },
    );
    const res = await call(rt, '/orders/1');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toEqual({
      error: {
        code: 'no_healthy_upstream',
        message: 'no healthy member of pool/main can serve api acme/orders',
        api: 'acme/orders',
        pool: 'pool/main',
        healthy: 0,
        total: 2,
      },
    });
  });

  it('retries a POST on another member when the first one refuses the connection', async () => {
    const up = await echo('alive');
    const dead = await closedPort();
    // random() = 0 picks the first usable member of the tier: the dead one.
    const rt = await runtime({}, () => 0);
    serve(
      rt,
      [
        { name: 'dead', url: `http://127.0.0.1:${dead}`, zone: 'eu-1' },
        { name: 'alive', url: up.url, zone: 'eu-1' },
      ],
      { basePath: '/', retries: { attempts: 2 } },
    );
    const body = randomBytes(200_000);
    const res = await call(rt, '/pay', { method: 'POST', body });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.text);
    expect(seen.name).toBe('alive');
    expect(seen.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
    const retries = await rt.metrics.retries.get();
    expect(retries.values).toEqual([expect.objectContaining({ labels: { api: 'acme/orders', reason: 'connect_failure' }, value: 1 })]);
  });

  it('answers 503 no_healthy_upstream when no member can be reached', async () => {
    const rt = await runtime();
    serve(rt, [{ name: 'dead', url: `http://127.0.0.1:${await closedPort()}`, zone: 'eu-1' }], { basePath: '/', retries: { attempts: 2 } });
    const res = await call(rt, '/x');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text).error).toMatchObject({ code: 'no_healthy_upstream', api: 'acme/orders', healthy: 0, total: 1 });
  });

  it('retries a GET after a 503 but passes a POST through', async () => {
    const failing = await upstream((_req, res) => {
      res.statusCode = 503;
      res.end('busy');
    });
    const up = await echo('healthy');
    const rt = await runtime({}, () => 0);
    serve(
      rt,
      [
        { name: 'failing', url: failing.url, zone: 'eu-1' },
        { name: 'healthy', url: up.url, zone: 'eu-1' },
      ],
      { basePath: '/', retries: { attempts: 1 } },
    );
    const get = await call(rt, '/a');
    expect(get.status).toBe(200);
    expect(JSON.parse(get.text).name).toBe('healthy');
    const post = await call(rt, '/a', { method: 'POST', body: 'x' });
    expect(post.status).toBe(503);
    expect(post.text).toBe('busy');
  });

  it('answers 504 upstream_timeout when the upstream does not answer in time', async () => {
    let arrived: () => void = () => undefined;
    const seen = new Promise<void>((resolve) => (arrived = resolve));
    const slow = await upstream(() => arrived()); // never answers
    const rt = await runtime();
    serve(rt, [{ name: 'slow', url: slow.url, zone: 'eu-1' }], { basePath: '/', timeouts: { requestMs: 200 } });
    const started = performance.now();
    const res = await call(rt, '/slow');
    await seen;
    expect(res.status).toBe(504);
    expect(JSON.parse(res.text).error).toMatchObject({ code: 'upstream_timeout', api: 'acme/orders' });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('finishes an in-flight request on the config it started with', async () => {
    let release: () => void = () => undefined;
    let arrived: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    const held = await upstream((_req, res) => {
      release = () => res.end('done');
      arrived();
    });
    const rt = await runtime();
    serve(rt, [{ name: 'held', url: held.url, zone: 'eu-1' }], { basePath: '/orders' });
    const pending = call(rt, '/orders/1');
    await inFlight;
    expect(rt.applyResponse(response('api', 2, {}, ['acme/orders']))).toMatchObject({ ok: true });
    expect(rt.applyResponse(response('cluster', 2, {}, ['acme/pool/main']))).toMatchObject({ ok: true });
    expect((await call(rt, '/orders/2')).status).toBe(404);
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.text).toBe('done');
  });

  it('refuses paths with dot segments', async () => {
    const up = await echo();
    const rt = await runtime();
    serve(rt, [{ name: 'gw-1', url: up.url, zone: 'eu-1' }], { basePath: '/orders', stripBasePath: true });
    const res = await rawCall(rt, '/orders/../admin');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error.code).toBe('invalid_argument');
  });
});

/** What /readyz adds for a runtime streaming (or set to stream) in plaintext. */
const plaintext = {
  security: 'insecure',
  warnings: ['the config stream is plaintext and unauthenticated (CAUSEWAY_XDS_INSECURE=true)'],
};

describe('runtime admin', () => {
  async function admin(rt: Runtime, path: string) {
    const res = await request(`http://${formatAddress(rt.adminAddress)}${path}`, { dispatcher: h.agent });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  it('is healthy at once and ready once it has config', async () => {
    const rt = await runtime();
    expect((await admin(rt, '/healthz')).status).toBe(200);
    const before = await admin(rt, '/readyz');
    expect(before.status).toBe(503);
    serve(rt, [{ name: 'gw-1', url: 'http://127.0.0.1:1', zone: 'eu-1' }], { basePath: '/' }, 7);
    const after = await admin(rt, '/readyz');
    expect(after.status).toBe(200);
    expect(JSON.parse(after.text)).toEqual({ status: 'ready', revision: 7, source: 'controller', connected: false, ...plaintext });
  });

  it('exports its own metrics and dumps its config', async () => {
    const rt = await runtime();
    serve(rt, [{ name: 'gw-1', url: 'http://127.0.0.1:1', zone: 'eu-1', unhealthy: true }], { basePath: '/orders' }, 3);
    await call(rt, '/orders');
    const metrics = await admin(rt, '/metrics');
    expect(metrics.text).toContain('causeway_runtime_no_healthy_upstream_total{api="acme/orders"} 1');
    expect(metrics.text).toContain('causeway_runtime_requests_total{api="acme/orders",code_class="5xx"} 1');
    expect(metrics.text).toContain('causeway_runtime_applied_revision 3');
    expect(metrics.text).toContain('causeway_runtime_config_applies_total{type="api",result="ack"} 1');
    expect(metrics.text).not.toContain('process_cpu');
    const dump = JSON.parse((await admin(rt, '/config')).text);
    expect(dump).toMatchObject({ nodeId: 'test-runtime', zone: 'eu-1', revision: '3', source: 'controller', controller: null });
    expect(dump.apis).toEqual([expect.objectContaining({ name: 'acme/orders', version: '3' })]);
    expect(dump.clusters[0].members[0]).toMatchObject({ name: 'gw-1', state: { kind: 'unhealthy' } });
  });
});

describe('runtime cache', () => {
  it('serves the cached config when started without a controller', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'causeway-runtime-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const up = await echo();
    const first = await runtime({ CAUSEWAY_CACHE_DIR: dir });
    serve(first, [{ name: 'gw-1', url: up.url, zone: 'eu-1' }], { basePath: '/orders' }, 9);
    await first.close();

    const second = await runtime({ CAUSEWAY_CACHE_DIR: dir });
    expect(second.status()).toMatchObject({ revision: 9n, source: 'cache', connected: false });
    const ready = await request(`http://${formatAddress(second.adminAddress)}/readyz`, { dispatcher: h.agent });
    expect(await ready.body.json()).toEqual({ status: 'ready', revision: 9, source: 'cache', stale: true, connected: false, ...plaintext });
    const res = await call(second, '/orders/5');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).url).toBe('/orders/5');
  });
});
