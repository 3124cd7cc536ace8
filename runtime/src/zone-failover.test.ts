import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatAddress } from '@causeway/shared';
import type { Runtime } from './runtime.ts';
import { api, cluster, response, zone, type ApiInit, type MemberInit } from './testing/resources.ts';
import { metricValue, RuntimeHarness } from './testing/runtime-harness.ts';
import { closedPort, readBody } from './testing/servers.ts';

let h: RuntimeHarness;

beforeEach(() => {
  h = new RuntimeHarness();
});

afterEach(async () => {
  await h.close();
});

const host = 'shop.example.com';

interface ZoneInit {
  readonly name: string;
  readonly dtcUrl: string;
}

/** Applies zones, one cluster and one API (host shop.example.com, base path /orders, stripped). */
function serve(rt: Runtime, members: readonly MemberInit[], init: ApiInit, zones: readonly ZoneInit[] = []): void {
  const zoneResources = Object.fromEntries(zones.map((z) => [z.name, zone(z.name, z.dtcUrl)]));
  expect(rt.applyResponse(response('zone', 1, zoneResources))).toMatchObject({ ok: true });
  expect(rt.applyResponse(response('cluster', 1, { 'acme/pool/main': cluster('acme/pool/main', members) }))).toMatchObject({ ok: true });
  const definition = api('acme/orders', { hosts: [host], basePath: '/orders', stripBasePath: true, retries: { attempts: 2 }, ...init });
  expect(rt.applyResponse(response('api', 1, { 'acme/orders': definition }))).toMatchObject({ ok: true });
}

function proxyUrl(rt: Runtime): string {
  return `http://${formatAddress(rt.proxyAddress)}`;
}

async function deadMember(name: string, zoneName: string): Promise<MemberInit> {
  return { name, url: `http://127.0.0.1:${await closedPort()}`, zone: zoneName };
}

describe('cross-zone failover', () => {
  it("uses another zone's members when no local member is usable, and never without failover", async () => {
    const remote = await h.echo('gw-b');
    const members = [await deadMember('gw-a', 'zone-a'), { name: 'gw-b', url: remote.url, zone: 'zone-b' }];

    const enabled = await h.runtime({ CAUSEWAY_ZONE: 'zone-a' });
    serve(enabled, members, { failover: { enabled: true, zones: ['zone-b'] } });
    const served = await h.call(enabled, '/orders/1', { headers: { host } });
    expect(served.status).toBe(200);
    expect(JSON.parse(served.text)).toMatchObject({ name: 'gw-b', url: '/1' });
    expect(await metricValue(enabled, 'failovers', { api: 'acme/orders', zone: 'zone-b', via: 'members' })).toBe(1);

    const disabled = await h.runtime({ CAUSEWAY_ZONE: 'zone-a' });
    serve(disabled, members, { failover: { enabled: false, zones: ['zone-b'] } });
    const refused = await h.call(disabled, '/orders/1', { headers: { host } });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.text).error).toMatchObject({ code: 'no_healthy_upstream', healthy: 1, total: 2 });
    expect(remote.hits).toBe(1);
  });

  it("forwards to the zone's DTC URL with the original host, path and query, and the hop header", async () => {
    let seen: { url: string | undefined; host: string | undefined; hop: string | undefined; body: string } | undefined;
    const remoteTier = await h.upstream(async (req, res) => {
      // The runtime health-checks the DTC URL on its reserved path meanwhile: not the forwarded request.
      if (req.url !== '/.well-known/causeway/health') {
        seen = { url: req.url, host: req.headers.host, hop: req.headers['x-causeway-failover-from'] as string | undefined, body: (await readBody(req)).toString() };
      }
      res.end('from zone-b');
    });
    const rt = await h.runtime({ CAUSEWAY_ZONE: 'zone-a' });
    serve(rt, [await deadMember('gw-a', 'zone-a')], { failover: { enabled: true } }, [{ name: 'zone-b', dtcUrl: remoteTier.url }]);
    const res = await h.call(rt, '/orders/7?x=1', { method: 'POST', body: 'order', headers: { host } });
    expect([res.status, res.text]).toEqual([200, 'from zone-b']);
    expect(seen).toEqual({ url: '/orders/7?x=1', host, hop: 'zone-a', body: 'order' });
    expect(await metricValue(rt, 'failovers', { zone: 'zone-b', via: 'dtc' })).toBe(1);
  });

  it('serves through the runtime tier of another zone, whose own members serve it', async () => {
    const live = await h.echo('gw-b');
    const b = await h.runtime({ CAUSEWAY_ZONE: 'zone-b', CAUSEWAY_NODE_ID: 'rt-b' });
    serve(b, [{ name: 'gw-b', url: live.url, zone: 'zone-b' }], { failover: { enabled: true } });
    const a = await h.runtime({ CAUSEWAY_ZONE: 'zone-a', CAUSEWAY_NODE_ID: 'rt-a' });
    serve(a, [await deadMember('gw-a', 'zone-a')], { failover: { enabled: true } }, [{ name: 'zone-b', dtcUrl: proxyUrl(b) }]);

    const res = await h.call(a, '/orders/7?x=1', { headers: { host, 'x-request-id': 'req-7' } });
    expect(res.status).toBe(200);
    const echoed = JSON.parse(res.text);
    expect(echoed).toMatchObject({ name: 'gw-b', url: '/7?x=1' });
    expect(echoed.headers['x-forwarded-host']).toBe(host);
    expect(echoed.headers['x-request-id']).toBe('req-7');
    expect(echoed.headers['x-causeway-failover-from']).toBeUndefined(); // the hop header stays between runtimes
    expect(res.headers['x-request-id']).toBe('req-7');
    expect(await metricValue(a, 'failovers', { zone: 'zone-b', via: 'dtc' })).toBe(1);
    expect(await metricValue(b, 'requests', { api: 'acme/orders' })).toBe(1);
  });

  it('answers 503 when both zones are down, without a forwarding loop', async () => {
    const b = await h.runtime({ CAUSEWAY_ZONE: 'zone-b', CAUSEWAY_NODE_ID: 'rt-b' });
    const a = await h.runtime({ CAUSEWAY_ZONE: 'zone-a', CAUSEWAY_NODE_ID: 'rt-a' });
    // Each zone's runtime would fail over to the other's DTC URL.
    serve(b, [await deadMember('gw-b', 'zone-b')], { failover: { enabled: true } }, [{ name: 'zone-a', dtcUrl: proxyUrl(a) }]);
    serve(a, [await deadMember('gw-a', 'zone-a')], { failover: { enabled: true } }, [{ name: 'zone-b', dtcUrl: proxyUrl(b) }]);

    const res = await h.call(a, '/orders/1', { headers: { host } });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text).error).toMatchObject({ code: 'no_healthy_upstream', healthy: 0, total: 1 });
    expect(await metricValue(b, 'requests', { api: 'acme/orders' })).toBe(1); // exactly one forwarded request
    expect(await metricValue(b, 'failovers')).toBe(0); // not forwarded back
    expect(await metricValue(a, 'requests', { api: 'acme/orders' })).toBe(1); // a saw only the client's request
    expect(await metricValue(a, 'failovers', { zone: 'zone-b', via: 'dtc' })).toBe(1);
  });
});
