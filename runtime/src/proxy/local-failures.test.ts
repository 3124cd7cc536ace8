import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createLogger } from '@causeway/shared';
import { createRuntimeMetrics, type RuntimeMetrics } from '../metrics.ts';
import type { ApiRoute } from '../routing/serving-config.ts';
import { ConfigApplier } from '../config-applier.ts';
import { api, cluster, response } from '../testing/resources.ts';
import { RuntimeHarness, type EchoUpstream } from '../testing/runtime-harness.ts';
import { defaultClientLimits } from './client-limits.ts';
import type { ExchangeDeps, ExchangeRequest } from './exchange-request.ts';
import { ProxyExchange } from './proxy-exchange.ts';
import { ProxyResponse } from './proxy-response.ts';

const silent = createLogger('test', { level: 'silent' });

let h: RuntimeHarness;
const closers: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  h = new RuntimeHarness();
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await h.close();
});

interface Setup {
  readonly applier: ConfigApplier;
  readonly metrics: RuntimeMetrics;
  readonly route: ApiRoute;
  readonly ups: readonly EchoUpstream[];
}

/** A config applier serving `/orders` from two echo members, as a runtime builds it. */
async function setup(): Promise<Setup> {
  const ups = [await h.echo('gw-1'), await h.echo('gw-2')];
  const metrics = createRuntimeMetrics();
  const applier = new ConfigApplier({ zone: 'eu-1', maxRequestTimeoutMs: 300_000, metrics, log: silent, cache: undefined });
  closers.push(() => applier.close());
  const members = ups.map((u) => ({ name: u.name, url: u.url, zone: 'eu-1' }));
  expect(applier.apply(response('cluster', 1, { 'acme/pool/main': cluster('acme/pool/main', members) }))).toMatchObject({ ok: true });
  expect(applier.apply(response('api', 1, { 'acme/orders': api('acme/orders', { basePath: '/', retries: { attempts: 2 } }) }))).toMatchObject({ ok: true });
  const route = applier.serving.routes.lookup('GET', 'a.com', '/orders');
  if (route === undefined || typeof route !== 'object') throw new Error('no route');
  return { applier, metrics, route, ups };
}

/**
 * A listener that hands every request to a ProxyExchange with the given forwarded request:
 * the exchange, its undici pools and member health are the runtime's own.
 */
async function exchangeServer({ applier, metrics, route }: Setup, forwarded: ExchangeRequest): Promise<string> {
  const deps: ExchangeDeps = {
    log: silent,
    random: Math.random,
    now: Date.now,
    zone: 'eu-1',
    upstreams: applier.health,
    limits: defaultClientLimits,
    counters: {
      bodyTimeouts: metrics.clientTimeouts.labels('body'),
      sendTimeouts: metrics.clientTimeouts.labels('send'),
      bodiesTooLarge: metrics.requestBodiesTooLarge,
    },
  };
  const server = createServer<typeof IncomingMessage, typeof ProxyResponse>({ ServerResponse: ProxyResponse }, (req, res) => {
    new ProxyExchange(req, res, route, forwarded, deps).start();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const base: ExchangeRequest = {
  method: 'GET',
  path: '/orders',
  query: '',
  requestId: 'r-1',
  hasBody: false,
  host: 'a.com',
  hopped: false,
  headers: [],
};

describe('failures on the runtime side of an attempt', () => {
  it.each([
    ['a header value with a control character', { ...base, headers: ['x-note', 'a\u0001b'] }],
    ['a header value with DEL', { ...base, headers: ['x-note', 'a\u007fb'] }],
    ['a path with a space', { ...base, path: '/orders list' }],
  ])('regression: %s, which undici refuses to send, is a 400 that reaches no member, is not retried and blames no member', async (_name, forwarded) => {
    const setupDone = await setup();
    const { applier, metrics, ups } = setupDone;
    const url = await exchangeServer(setupDone, forwarded);
    // More requests than the 5 consecutive failures that would eject a member.
    for (let i = 0; i < 8; i++) {
      const res = await request(`${url}/orders`, { dispatcher: h.agent });
      expect(res.statusCode).toBe(400);
      expect(((await res.body.json()) as { error: { code: string } }).error).toMatchObject({ code: 'invalid_argument', api: 'acme/orders' });
    }
    expect(ups.map((u) => u.hits)).toEqual([0, 0]);
    for (const up of ups) {
      expect(applier.memberHealth('acme/pool/main', up.name, up.url)).toMatchObject({ state: { kind: 'healthy' }, consecutiveFailures: 0, ejections: 0 });
    }
    const retries = await metrics.retries.get();
    expect(retries.values.reduce((sum, v) => sum + v.value, 0)).toBe(0);
  });
});
