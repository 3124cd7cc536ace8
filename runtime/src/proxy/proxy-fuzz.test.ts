import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Runtime } from '../runtime.ts';
import { blame } from '../testing/member-views.ts';
import { api, cluster, response } from '../testing/resources.ts';
import { sendRaw } from '../testing/http-wire.ts';
import { metricValue, RuntimeHarness } from '../testing/runtime-harness.ts';

/**
 * Mutated HTTP/1.1 requests over raw sockets against a real runtime with a pool of two
 * members: the runtime never crashes, answers each with well-formed HTTP responses whose
 * statuses docs/runtime.md lists, keeps answering normal requests, and no client request
 * ever counts against a member. Bounded in time: fast-check stops after `fuzzMs`.
 */

const fuzzMs = 12_000;

/** What the proxy listener answers with these members (echo upstreams answer 200): the runtime's and Node's own answers. */
const documentedStatuses: ReadonlySet<number> = new Set([100, 200, 400, 404, 408, 413, 417, 431, 501]);

const healthPath = '/.well-known/causeway/health';
/** Ends every case left open after its first answer: answered by the runtime, then it closes the connection. */
const closer = `GET ${healthPath} HTTP/1.1\r\nHost: closer\r\nConnection: close\r\n\r\n`;

const latin1 = (max: number): fc.Arbitrary<string> => fc.uint8Array({ maxLength: max }).map((bytes) => Buffer.from(bytes).toString('latin1'));
const printable = (max: number): fc.Arbitrary<string> => fc.string({ maxLength: max, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });

/** Path segments a client may send, some tricky (dot segments, escapes the router must handle). */
const segment = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('orders', 'a', '1', 'x-y', '%20', '', ';x', '@', ':', '$', '~', '%23', '%2f', '*', '%C3%A9') },
  { weight: 1, arbitrary: fc.constantFrom('%2e%2e', '%2E', '..', '.', '%', '%zz', '%00') },
);
const path = fc
  .tuple(fc.array(segment, { maxLength: 5 }), fc.constantFrom('', '', '', '?x=1', '?', '?a=%zz&b'))
  .map(([segments, query]) => `/${segments.join('/')}${query}`);
const goodHost = fc.constantFrom('a.com', 'A.COM.', 'a.com:8080', '[::1]:80', 'xn--bcher-kva.ch', 'b.org');
const badHost = fc.oneof(fc.constantFrom('', 'a.com:', 'a.com:x', 'a.com:99999', 'a/b', 'a@b', 'a b', 'a\\b', 'a#b', 'a?b', '[::1', '[::1]x'), latin1(12));

/** A request as a client builds it; mutations then break one part of it at a time. */
interface Draft {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly host: string | undefined;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
  /** How the body is framed: Content-Length, chunked, or raw bytes after the head (no framing header). */
  readonly framing: 'length' | 'chunked' | 'raw';
}

const wellFormed: fc.Arbitrary<Draft> = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'),
  target: path,
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
  host: goodHost,
  headers: fc.array(fc.tuple(fc.constantFrom('Accept', 'User-Agent', 'X-Trace', 'Cookie', 'Authorization', 'Content-Type'), printable(40)), { maxLength: 3 }),
  body: fc.oneof(fc.constant(''), latin1(64)),
  framing: fc.constantFrom('length', 'chunked'),
});

type Mutation = (draft: Draft) => Draft;

const edgyHeader: fc.Arbitrary<readonly [string, string]> = fc.oneof(
  fc.tuple(fc.constant('Host'), fc.oneof(goodHost, badHost)),
  fc.tuple(fc.constant('Content-Length'), fc.constantFrom('0', '3', '100', '4097', '-1', '1, 1', 'abc', '99999999999999', ' 2')),
  fc.tuple(fc.constant('Transfer-Encoding'), fc.constantFrom('chunked', 'Chunked', 'gzip, chunked', 'identity', 'chunked, chunked', 'gzip', '')),
  fc.tuple(fc.constant('Connection'), fc.constantFrom('close', 'keep-alive', 'upgrade', 'x-trace, close', 'te, host', 'content-length')),
  fc.tuple(fc.constantFrom('Upgrade', 'Expect', 'TE', 'Trailer', 'Keep-Alive', 'Proxy-Connection'), fc.constantFrom('websocket', 'h2c', '100-continue', 'trailers', 'x', '')),
  fc.tuple(fc.constantFrom('X-Request-Id', 'X-Forwarded-For', 'X-Forwarded-Host', 'X-Causeway-Failover-From', 'X-Trace'), latin1(30)),
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/), latin1(30)),
  fc.tuple(latin1(10), latin1(10)),
  fc.tuple(fc.constant('X-Huge'), fc.integer({ min: 1_000, max: 40_000 }).map((n) => 'h'.repeat(n))),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom('CONNECT', 'TRACE', 'PURGE', 'get', 'G ET', '').map((method): Mutation => (d) => ({ ...d, method })),
  fc
    .oneof(
      fc.constantFrom('/orders#f', '/a?q#f', '#', '*', 'a.com:443', '', '//a', healthPath, `${healthPath}#x`, '/orders/../admin', '/%2e%2e/x', '/a b', '/ÿ', '/\\x'),
      fc.tuple(fc.constantFrom('http://', 'https://', 'HTTP://', 'ftp://', 'http:/'), fc.oneof(goodHost, badHost), path).map((parts) => parts.join('')),
      latin1(40),
    )
    .map((target): Mutation => (d) => ({ ...d, target })),
  fc.constantFrom('HTTP/2.0', 'HTTP/1.2', 'http/1.1', 'HTTP/1.1 x', '', 'HTTP/0.9').map((version): Mutation => (d) => ({ ...d, version })),
  edgyHeader.map((header): Mutation => (d) => ({ ...d, headers: [...d.headers, header] })),
  badHost.map((host): Mutation => (d) => ({ ...d, host })),
  fc.constant<Mutation>((d) => ({ ...d, host: undefined })),
  fc.constant<Mutation>((d) => ({ ...d, headers: [...d.headers, ['Host', d.host ?? 'a.com']] })),
  fc.constant<Mutation>((d) => ({ ...d, framing: 'raw' })),
  fc.constantFrom('5\r\nab', 'zz\r\n\r\n', '3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n', 'x'.repeat(5_000), '0\r\n\r\nGET / HTTP/1.1\r\n\r\n').map(
    (body): Mutation => (d) => ({ ...d, body, framing: 'raw' }),
  ),
  fc.integer({ min: -3, max: 3 }).map((delta): Mutation => (d) => ({ ...d, headers: [...d.headers, ['Content-Length', String(Math.max(0, Buffer.byteLength(d.body, 'latin1') + delta))]], framing: 'raw' })),
);

function render(d: Draft): string {
  const headers = [...(d.host === undefined ? [] : [['Host', d.host] as const]), ...d.headers];
  let body = d.body;
  if (d.framing === 'length' && (body !== '' || d.method === 'POST')) headers.push(['Content-Length', String(Buffer.byteLength(body, 'latin1'))]);
  if (d.framing === 'chunked' && body !== '') {
    headers.push(['Transfer-Encoding', 'chunked']);
    body = `${Buffer.byteLength(body, 'latin1').toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  }
  return `${d.method} ${d.target} ${d.version}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n${body}`;
}

interface Case {
  readonly method: string;
  readonly bytes: string;
}

const request: fc.Arbitrary<Case> = fc.tuple(wellFormed, fc.array(mutation, { maxLength: 2 })).map(([draft, mutations]) => {
  const mutated = mutations.reduce((d, mutate) => mutate(d), draft);
  return { method: mutated.method, bytes: render(mutated) };
});

/** An upstream that reads whatever body comes and names itself; never fails on an aborted request. */
function echo(name: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    req.on('error', () => undefined);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name, method: req.method, url: req.url }));
    });
  };
}

const h = new RuntimeHarness();
let rt: Runtime;

beforeAll(async () => {
  const ups = [await h.upstream(echo('gw-1')), await h.upstream(echo('gw-2'))];
  rt = await h.runtime({
    CAUSEWAY_CLIENT_HEADER_TIMEOUT_MS: '500',
    CAUSEWAY_CLIENT_BODY_TIMEOUT_MS: '300',
    CAUSEWAY_CLIENT_SEND_TIMEOUT_MS: '1000',
    CAUSEWAY_CLIENT_KEEPALIVE_TIMEOUT_MS: '300',
    CAUSEWAY_MAX_REQUEST_BODY_BYTES: '4096',
  });
  const members = ups.map((u, i) => ({ name: `gw-${i + 1}`, url: u.url, zone: 'eu-1' }));
  expect(rt.applyResponse(response('cluster', 1, { 'acme/pool/main': cluster('acme/pool/main', members) }))).toMatchObject({ ok: true });
  const apis = {
    'acme/catch-all': api('acme/catch-all', { basePath: '/', retries: { attempts: 2 } }),
    'acme/orders': api('acme/orders', { hosts: ['a.com'], basePath: '/orders', stripBasePath: true, retries: { attempts: 2 } }),
  };
  expect(rt.applyResponse(response('api', 1, apis))).toMatchObject({ ok: true });
});

afterAll(async () => {
  await h.close();
});

describe('proxy fuzz', () => {
  it('answers every mutated request with well-formed HTTP, keeps serving, and never blames a member', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ method: m, bytes }) => {
        runs++;
        // Every case ends with the connection closed: by the closer, an error answer, or a timeout (1.5 s at most).
        const exchange = await sendRaw(rt.proxyAddress, bytes, { head: m === 'HEAD', afterFirst: closer, deadlineMs: 5_000 });
        expect(exchange.closed).toBe(true);
        for (const answer of exchange.responses) expect(documentedStatuses.has(answer.status), `answered ${answer.status}`).toBe(true);
        expect((await h.call(rt, '/orders/1', { headers: { host: 'a.com' } })).status).toBe(200);
      }),
      { numRuns: 2_000, interruptAfterTimeLimit: fuzzMs, markInterruptAsFailure: false },
    );
    expect(runs).toBeGreaterThan(50);
    expect(await blame(rt, h.agent)).toEqual({ 'gw-1': 'healthy failures=0 ejections=0', 'gw-2': 'healthy failures=0 ejections=0' });
    expect(await metricValue(rt, 'memberStateChanges')).toBe(0);
    expect(await metricValue(rt, 'retries')).toBe(0);
  }, 25_000);
});
