import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatAddress } from '@causeway/shared';
import type { Runtime } from './runtime.ts';
import { signHop, verifyHop } from './proxy/hop-marker.ts';
import { api, cluster, response, testHopKey, zone, type ApiInit, type MemberInit } from './testing/resources.ts';
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

  it("forwards to the zone's DTC URL with the original host, path and query, and a signed hop marker", async () => {
    let seen: { url: string | undefined; host: string | undefined; hop: string | undefined; body: string } | undefined;
    const remoteTier = await h.upstream(async (req, res) => {
      // The runtime health-checks the DTC URL on its reserved path meanwhile: not the forwarded request.
      if (req.url !== '/.well-known/causeway/health') {
        seen = { url: req.url, host: req.headers.host, hop: req.headers['x-causeway-hop'] as string | undefined, body: (await readBody(req)).toString() };
      }
      res.end('from zone-b');
    });
    const rt = await h.runtime({ CAUSEWAY_ZONE: 'zone-a' });
    serve(rt, [await deadMember('gw-a', 'zone-a')], { failover: { enabled: true } }, [{ name: 'zone-b', dtcUrl: remoteTier.url }]);
    const res = await h.call(rt, '/orders/7?x=1', { method: 'POST', body: 'order', headers: { host } });
    expect([res.status, res.text]).toEqual([200, 'from zone-b']);
    expect(seen).toEqual({ url: '/orders/7?x=1', host, hop: expect.stringMatching(/^zone-a;\d+;[\w-]{43}$/), body: 'order' });
    const now = Math.floor(Date.now() / 1000);
    expect(verifyHop(seen?.hop ?? '', [testHopKey], now, 'POST', '/orders/7')).toBe(true);
    expect(verifyHop(seen?.hop ?? '', [testHopKey], now, 'GET', '/orders/7')).toBe(false); // bound to the method and path
    expect(await metricValue(rt, 'failovers', { zone: 'zone-b', via: 'dtc' })).toBe(1);
  });

  it('serves through the runtime tier of another zone, whose own members serve it', async () => {
    const live = await h.echo('gw-b');
    const b = await h.runtime({ CAUSEWAY_ZONE: 'zone-b', CAUSEWAY_NODE_ID: 'rt-b' });
    // Its own zone carries the hop key (the controller gives every zone the same one).
    serve(b, [{ name: 'gw-b', url: live.url, zone: 'zone-b' }], { failover: { enabled: true } }, [{ name: 'zone-b', dtcUrl: '' }]);
    const a = await h.runtime({ CAUSEWAY_ZONE: 'zone-a', CAUSEWAY_NODE_ID: 'rt-a' });
    serve(a, [await deadMember('gw-a', 'zone-a')], { failover: { enabled: true } }, [{ name: 'zone-b', dtcUrl: proxyUrl(b) }]);

    const res = await h.call(a, '/orders/7?x=1', { headers: { host, 'x-request-id': 'req-7' } });
    expect(res.status).toBe(200);
    const echoed = JSON.parse(res.text);
    expect(echoed).toMatchObject({ name: 'gw-b', url: '/7?x=1' });
    expect(echoed.headers['x-forwarded-host']).toBe(host);
    expect(echoed.headers['x-request-id']).toBe('req-7');
    expect(echoed.headers['x-causeway-hop']).toBeUndefined(); // the hop marker stays between runtimes
    expect(await metricValue(b, 'hopMarkers', { result: 'accepted' })).toBe(1);
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

describe('hop markers', () => {
  const now = (): number => Math.floor(Date.now() / 1000);

  /** A runtime in zone-a whose local member is dead and whose API fails over to a live member in zone-b. */
  async function failingOver(): Promise<{ rt: Runtime; remote: Awaited<ReturnType<RuntimeHarness['echo']>> }> {
    const remote = await h.echo('gw-b');
    const rt = await h.runtime({ CAUSEWAY_ZONE: 'zone-a' });
    const members = [await deadMember('gw-a', 'zone-a'), { name: 'gw-b', url: remote.url, zone: 'zone-b' }];
    serve(rt, members, { failover: { enabled: true, zones: ['zone-b'] } }, [{ name: 'zone-b', dtcUrl: 'http://127.0.0.1:1' }]);
    return { rt, remote };
  }

  it('ignores a forged marker from a client: the request fails over as any other, and the marker is not forwarded', async () => {
    const { rt, remote } = await failingOver();
    const forged = [
      'zone-b;1700000000;AAAA', // not a MAC
      signHop(new Uint8Array(32).fill(9), 'zone-b', now(), 'GET', '/orders/1'), // another key
      signHop(testHopKey, 'zone-b', now() - 120, 'GET', '/orders/1'), // the right key, two minutes old
      signHop(testHopKey, 'zone-b', now(), 'GET', '/orders/2'), // the right key, another path
    ];
    for (const marker of forged) {
      const res = await h.call(rt, '/orders/1', { headers: { host, 'x-causeway-hop': marker } });
      expect(res.status, marker).toBe(200);
      const echoed = JSON.parse(res.text);
      expect(echoed.name).toBe('gw-b');
      expect(echoed.headers['x-causeway-hop']).toBeUndefined();
    }
    expect(remote.hits).toBe(forged.length);
    expect(await metricValue(rt, 'hopMarkers', { result: 'rejected' })).toBe(forged.length);
    expect(await metricValue(rt, 'hopMarkers', { result: 'accepted' })).toBe(0);
  });

  it("honours a valid marker from another zone's runtime: served by local members only, never forwarded", async () => {
    const { rt, remote } = await failingOver();
    const marker = signHop(testHopKey, 'zone-c', now(), 'GET', '/orders/1');
    const res = await h.call(rt, '/orders/1', { headers: { host, 'x-causeway-hop': marker } });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text).error.code).toBe('no_healthy_upstream');
    expect(remote.hits).toBe(0);
    expect(await metricValue(rt, 'hopMarkers', { result: 'accepted' })).toBe(1);
  });

  it('accepts no marker without a hop key (no zones held)', async () => {
    const remote = await h.echo('gw-b');
    const rt = await h.runtime({ CAUSEWAY_ZONE: 'zone-a' });
    serve(rt, [await deadMember('gw-a', 'zone-a'), { name: 'gw-b', url: remote.url, zone: 'zone-b' }], { failover: { enabled: true, zones: ['zone-b'] } });
    const marker = signHop(testHopKey, 'zone-c', now(), 'GET', '/orders/1');
    const res = await h.call(rt, '/orders/1', { headers: { host, 'x-causeway-hop': marker } });
    expect(res.status).toBe(200);
    expect(remote.hits).toBe(1);
  });

  it('does not forward to a DTC URL whose zone has no hop key (the other side could not tell it from a client request)', async () => {
    const remoteTier = await h.echo('tier-b');
    const rt = await h.runtime({ CAUSEWAY_ZONE: 'zone-a' });
    const zones = { 'zone-b': zone('zone-b', remoteTier.url, { hopKey: new Uint8Array() }) };
    expect(rt.applyResponse(response('zone', 1, zones))).toMatchObject({ ok: true });
    serve(rt, [await deadMember('gw-a', 'zone-a')], { failover: { enabled: true } });
    const res = await h.call(rt, '/orders/1', { headers: { host } });
    expect(res.status).toBe(503);
    expect(remoteTier.hits).toBe(0);
  });
});
