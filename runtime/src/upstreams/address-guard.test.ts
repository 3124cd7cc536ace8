import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { createLogger, type Logger } from '@causeway/shared';
import type { Runtime } from '../runtime.ts';
import { memberViews } from '../testing/member-views.ts';
import { api, cluster, response, type MemberInit } from '../testing/resources.ts';
import { echoHealthPath, metricValue, RuntimeHarness } from '../testing/runtime-harness.ts';
import { AddressGuard, parseCidr, type Cidr } from './address-guard.ts';

const silent = createLogger('test', { level: 'silent' });

function guard(...ranges: string[]): AddressGuard {
  const cidrs = ranges.map((r) => parseCidr(r)).filter((c): c is Cidr => c !== undefined);
  return new AddressGuard({ cidrs, log: silent, onDenied: () => undefined });
}

describe('upstream deny list', () => {
  it('parses IPv4 and IPv6 ranges and bare addresses, and nothing else', () => {
    expect(parseCidr('169.254.0.0/16')).toEqual({ address: '169.254.0.0', prefix: 16, family: 'ipv4' });
    expect(parseCidr('fe80::/10')).toEqual({ address: 'fe80::', prefix: 10, family: 'ipv6' });
    expect(parseCidr('10.1.2.3')).toEqual({ address: '10.1.2.3', prefix: 32, family: 'ipv4' });
    expect(parseCidr('fd00:ec2::254')).toEqual({ address: 'fd00:ec2::254', prefix: 128, family: 'ipv6' });
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', '10.0.0.0/-1', 'metadata', '10.0.0/8', '']) {
      expect([bad, parseCidr(bad)]).toEqual([bad, undefined]);
    }
  });

  it('denies the default link-local ranges, IPv4-mapped IPv6 spellings included, and allows loopback', () => {
    const g = guard('169.254.0.0/16', 'fe80::/10');
    for (const address of ['169.254.169.254', '169.254.0.1', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', 'fe80::1', 'FE80::abcd']) {
      expect([address, g.denies(address)]).toEqual([address, true]);
    }
    for (const address of ['127.0.0.1', '::1', '10.0.0.1', '169.255.0.1', 'fec0::1']) {
      expect([address, g.denies(address)]).toEqual([address, false]);
    }
    expect(guard().denies('169.254.169.254')).toBe(false);
  });
});

let h: RuntimeHarness;

beforeEach(() => {
  h = new RuntimeHarness();
});

afterEach(async () => {
  await h.close();
});

/** A logger that keeps every line at `info` and above, parsed. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

function serve(rt: Runtime, members: readonly MemberInit[]): void {
  expect(rt.applyResponse(response('cluster', 1, { 'acme/pool/main': cluster('acme/pool/main', members) }))).toMatchObject({ ok: true });
  const orders = api('acme/orders', { basePath: '/', retries: { attempts: 2 }, timeouts: { connectMs: 500 } });
  expect(rt.applyResponse(response('api', 1, { 'acme/orders': orders }))).toMatchObject({ ok: true });
}

describe('upstream deny list at connect time', () => {
  it('regression: a member at the cloud metadata address is never connected to and is marked unhealthy once, not per request', async () => {
    const alive = await h.echo('alive');
    const { logger, lines } = capturingLogger();
    // random 0: the first usable member, the denied one, is tried first.
    const rt = await h.runtime({}, { logger, random: () => 0 });
    serve(rt, [
      { name: 'metadata', url: 'http://169.254.169.254:80', zone: 'eu-1' },
      { name: 'alive', url: alive.url, zone: 'eu-1' },
    ]);
    for (let i = 0; i < 10; i++) expect((await h.call(rt, '/latest/meta-data/')).status).toBe(200);
    expect(alive.hits).toBe(10);
    const denied = (await memberViews(rt, h.agent)).find((m) => m.name === 'metadata');
    expect(denied).toMatchObject({ usable: false, state: { kind: 'unhealthy', reason: 'address denied' } });
    // One connect was refused, by the deny list: the member was out after it.
    expect(await metricValue(rt, 'upstreamConnectsDenied')).toBe(1);
    expect(await metricValue(rt, 'retries', { reason: 'connect_failure' })).toBe(1);
    expect(lines.filter((l) => l.msg === 'upstream address denied')).toMatchObject([{ host: '169.254.169.254', address: '169.254.169.254' }]);
    expect(lines.filter((l) => l.msg === 'member state changed')).toMatchObject([{ member: 'metadata', to: 'unhealthy', reason: 'address denied' }]);
  });

  it('regression: a member name that resolves into a denied range is not connected to, by traffic or by health checks', async () => {
    const target = await h.echo('target');
    const rt = await h.runtime({ CAUSEWAY_UPSTREAM_DENY_CIDRS: '127.0.0.0/8,::1/128' });
    // `localhost` resolves to loopback: the name passes any check on the URL, the address does not.
    const check = { path: echoHealthPath, intervalMs: 100, timeoutMs: 100, healthyThreshold: 1, unhealthyThreshold: 1 };
    serve(rt, [{ name: 'by-name', url: `http://localhost:${target.port}`, zone: 'eu-1', healthCheck: check }]);
    await vi.waitFor(async () => expect(await metricValue(rt, 'healthChecks', { result: 'fail' })).toBeGreaterThanOrEqual(2), { timeout: 5_000, interval: 20 });
    const answer = await h.call(rt, '/orders');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text).error).toMatchObject({ code: 'no_healthy_upstream', healthy: 0, total: 1 });
    expect([target.hits, target.checks]).toEqual([0, 0]);
    const [member] = await memberViews(rt, h.agent);
    expect(member).toMatchObject({ usable: false, state: { kind: 'unhealthy', reason: 'health check failed: address denied' } });
    expect(await metricValue(rt, 'upstreamConnectsDenied')).toBeGreaterThanOrEqual(2);
  });

  it('connects to any address with CAUSEWAY_UPSTREAM_DENY_CIDRS=none', async () => {
    const target = await h.echo('target');
    const rt = await h.runtime({ CAUSEWAY_UPSTREAM_DENY_CIDRS: 'none' });
    serve(rt, [{ name: 'by-name', url: `http://localhost:${target.port}`, zone: 'eu-1' }]);
    expect((await h.call(rt, '/orders')).status).toBe(200);
    expect(target.hits).toBe(1);
  });
});
