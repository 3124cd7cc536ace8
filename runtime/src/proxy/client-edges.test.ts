import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Runtime } from '../runtime.ts';
import { blame } from '../testing/member-views.ts';
import { api, cluster, response } from '../testing/resources.ts';
import { errorBody, responseHeader, sendRaw, type WireResponse } from '../testing/http-wire.ts';
import { metricValue, RuntimeHarness } from '../testing/runtime-harness.ts';

let h: RuntimeHarness;

beforeEach(() => {
  h = new RuntimeHarness();
});

afterEach(async () => {
  await h.close();
});

/** An upstream that reads the whole body, then answers with its name and size; counts requests and aborted ones. */
interface CountingUpstream {
  readonly name: string;
  readonly url: string;
  hits: number;
  /** Requests whose body never completed because the runtime gave up on them. */
  aborted: number;
}

async function reader(name: string, respondEarly = false): Promise<CountingUpstream> {
  const counts = { name, hits: 0, aborted: 0 };
  const server = await h.upstream((req: IncomingMessage, res: ServerResponse) => {
    counts.hits++;
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('error', () => undefined);
    req.on('close', () => {
      if (!req.complete) counts.aborted++;
    });
    if (respondEarly) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('started\n');
    }
    req.on('end', () => {
      if (!respondEarly) res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name, bytes }));
    });
  });
  return Object.assign(counts, { url: server.url });
}

/** A runtime serving `/` from two members that read bodies; env adds runtime settings. */
async function pool(env: Record<string, string> = {}, respondEarly = false): Promise<{ rt: Runtime; ups: CountingUpstream[] }> {
  const ups = [await reader('gw-1', respondEarly), await reader('gw-2', respondEarly)];
  const rt = await h.runtime(env);
  const members = ups.map((u) => ({ name: u.name, url: u.url, zone: 'eu-1' }));
  expect(rt.applyResponse(response('cluster', 1, { 'acme/pool/main': cluster('acme/pool/main', members) }))).toMatchObject({ ok: true });
  const orders = api('acme/orders', { basePath: '/', retries: { attempts: 2 } });
  expect(rt.applyResponse(response('api', 1, { 'acme/orders': orders }))).toMatchObject({ ok: true });
  return { rt, ups };
}

const healthy = { 'gw-1': 'healthy failures=0 ejections=0', 'gw-2': 'healthy failures=0 ejections=0' };

function only(responses: readonly WireResponse[]): WireResponse {
  expect(responses).toHaveLength(1);
  const [first] = responses;
  if (first === undefined) throw new Error('no response');
  return first;
}

describe('requests the runtime answers itself', () => {
  it('regression: a fragment in the request target is a 400 and ejects no member', async () => {
    const { rt, ups } = await pool();
    // More requests than the 5 consecutive failures that eject a member.
    for (const target of ['/api#x', '/orders/1#', 'http://a.com/api#frag']) {
      for (let i = 0; i < 4; i++) {
        const answer = only((await sendRaw(rt.proxyAddress, `GET ${target} HTTP/1.1\r\nHost: a.com\r\nConnection: close\r\n\r\n`)).responses);
        expect(answer.status).toBe(400);
        expect(errorBody(answer)).toEqual({ code: 'invalid_argument', message: "the request target has a fragment ('#')" });
      }
    }
    expect(ups.map((u) => u.hits)).toEqual([0, 0]);
    expect(await blame(rt, h.agent)).toEqual(healthy);
    expect(await metricValue(rt, 'retries')).toBe(0);
    expect((await h.call(rt, '/api')).status).toBe(200);
  });

  it('regression: a repeated or malformed Host header is a 400 with the JSON error body', async () => {
    const { rt, ups } = await pool();
    const hosts = [['a.com', 'b.com'], ['a.com', 'a.com'], ['a.com/x'], ['a.com?x'], ['a.com#x'], ['u@a.com'], ['a\\b'], ['a b'], ['a.com:'], ['a.com:x'], ['a.com:70000'], ['']];
    for (const values of hosts) {
      const head = values.map((v) => `Host: ${v}\r\n`).join('');
      const answer = only((await sendRaw(rt.proxyAddress, `GET /api HTTP/1.1\r\n${head}Connection: close\r\n\r\n`)).responses);
      expect([values, answer.status]).toEqual([values, 400]);
      expect(errorBody(answer).code).toBe('invalid_argument');
    }
    expect(ups.map((u) => u.hits)).toEqual([0, 0]);
    const fine = only((await sendRaw(rt.proxyAddress, 'GET /api HTTP/1.1\r\nHost: A.com.:8080\r\nConnection: close\r\n\r\n')).responses);
    expect(fine.status).toBe(200);
  });

  it('regression: a Transfer-Encoding other than one chunked is a 501 and is never re-coded upstream', async () => {
    const { rt, ups } = await pool();
    for (const te of ['Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked']) {
      const exchange = await sendRaw(rt.proxyAddress, `POST /api HTTP/1.1\r\nHost: a.com\r\n${te}\r\n\r\n3\r\nabc\r\n0\r\n\r\n`);
      const answer = only(exchange.responses);
      expect(answer.status).toBe(501);
      expect(errorBody(answer).code).toBe('not_implemented');
      expect(responseHeader(answer, 'connection')).toBe('close');
      expect(exchange.closed).toBe(true);
    }
    expect(ups.map((u) => u.hits)).toEqual([0, 0]);
    const chunked = only((await sendRaw(rt.proxyAddress, 'POST /api HTTP/1.1\r\nHost: a.com\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n')).responses);
    expect(JSON.parse(chunked.body.toString())).toMatchObject({ bytes: 3 });
  });

  it('regression: CONNECT is a 501 with the JSON error body, not a dropped connection', async () => {
    const { rt } = await pool();
    const exchange = await sendRaw(rt.proxyAddress, 'CONNECT a.com:443 HTTP/1.1\r\nHost: a.com:443\r\n\r\n');
    const answer = only(exchange.responses);
    expect(answer.status).toBe(501);
    expect(errorBody(answer)).toEqual({ code: 'not_implemented', message: 'CONNECT is not supported' });
    expect(exchange.closed).toBe(true);
  });
});

describe('client timeouts and body limit', () => {
  it('regression: a request body that stalls is a 408, the upstream request is aborted and no member is blamed', async () => {
    const { rt, ups } = await pool({ CAUSEWAY_CLIENT_BODY_TIMEOUT_MS: '300' });
    const exchange = await sendRaw(rt.proxyAddress, 'POST /api HTTP/1.1\r\nHost: a.com\r\nContent-Length: 10\r\n\r\nabc');
    const answer = only(exchange.responses);
    expect(answer.status).toBe(408);
    expect(errorBody(answer).code).toBe('request_timeout');
    expect(exchange.closed).toBe(true);
    expect(exchange.ms).toBeGreaterThanOrEqual(250);
    expect(exchange.ms).toBeLessThan(5_000);
    await vi.waitFor(() => expect(ups[0]!.aborted + ups[1]!.aborted).toBe(1));
    expect(await metricValue(rt, 'clientTimeouts', { kind: 'body' })).toBe(1);
    expect(await metricValue(rt, 'retries')).toBe(0);
    expect(await blame(rt, h.agent)).toEqual(healthy);
  });

  it('regression: a request body that stalls after the response started cuts the connection', async () => {
    const { rt, ups } = await pool({ CAUSEWAY_CLIENT_BODY_TIMEOUT_MS: '300' }, true);
    // The response head and first chunk arrive, then the connection closes mid-body.
    const exchange = sendRaw(rt.proxyAddress, 'POST /api HTTP/1.1\r\nHost: a.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    await expect(exchange).rejects.toThrow(/truncated chunked body/);
    await vi.waitFor(() => expect(ups[0]!.aborted + ups[1]!.aborted).toBe(1));
    expect(await metricValue(rt, 'clientTimeouts', { kind: 'body' })).toBe(1);
    expect(await blame(rt, h.agent)).toEqual(healthy);
  });

  it('does not time out a body that keeps arriving, however long it takes in all', async () => {
    const { rt } = await pool({ CAUSEWAY_CLIENT_BODY_TIMEOUT_MS: '300' });
    const body = 'x'.repeat(1000);
    const answer = only(
      (
        await sendRaw(rt.proxyAddress, 'POST /api HTTP/1.1\r\nHost: a.com\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n', {
          onSocket: (socket) => {
            // Each piece comes well within the body timeout; the whole body takes longer than it.
            let sent = 0;
            const timer = setInterval(() => {
              if (sent++ < 4) socket.write(`fa\r\n${body.slice(0, 250)}\r\n`);
              else {
                clearInterval(timer);
                socket.write('0\r\n\r\n');
              }
            }, 150);
          },
        })
      ).responses,
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toMatchObject({ bytes: 1000 });
    expect(await metricValue(rt, 'clientTimeouts', { kind: 'body' })).toBe(0);
  });

  it('does not count the time an upstream takes to read the body against the client', async () => {
    const upstream = await h.upstream((req, res) => {
      // The upstream reads nothing for longer than the body timeout, while the client has sent everything.
      req.pause();
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => res.end(JSON.stringify({ bytes })));
      setTimeout(() => req.resume(), 1_000);
    });
    const rt = await h.runtime({ CAUSEWAY_CLIENT_BODY_TIMEOUT_MS: '300' });
    rt.applyResponse(response('cluster', 1, { 'acme/pool/main': cluster('acme/pool/main', [{ name: 'gw-1', url: upstream.url, zone: 'eu-1' }]) }));
    rt.applyResponse(response('api', 1, { 'acme/orders': api('acme/orders', { basePath: '/' }) }));
    const size = 16 * 1024 * 1024;
    const head = Buffer.from(`POST /api HTTP/1.1\r\nHost: a.com\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`, 'latin1');
    const answer = only((await sendRaw(rt.proxyAddress, Buffer.concat([head, Buffer.alloc(size, 97)]))).responses);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual({ bytes: size });
    expect(await metricValue(rt, 'clientTimeouts', { kind: 'body' })).toBe(0);
  });

  it('regression: a client that stops reading the response is cut off, and the upstream request with it', async () => {
    let upstreamClosed = 0;
    const upstream = await h.upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on('drain', pump);
      res.on('close', () => upstreamClosed++);
      pump();
    });
    const rt = await h.runtime({ CAUSEWAY_CLIENT_SEND_TIMEOUT_MS: '300' });
    rt.applyResponse(response('cluster', 1, { 'acme/pool/main': cluster('acme/pool/main', [{ name: 'gw-1', url: upstream.url, zone: 'eu-1' }]) }));
    rt.applyResponse(response('api', 1, { 'acme/orders': api('acme/orders', { basePath: '/' }) }));
    let client: Socket | undefined;
    const exchange = sendRaw(rt.proxyAddress, 'GET /big HTTP/1.1\r\nHost: a.com\r\n\r\n', {
      onSocket: (socket) => {
        client = socket;
        socket.once('data', () => socket.pause()); // reads the first bytes, then nothing
      },
    });
    await vi.waitFor(async () => expect(await metricValue(rt, 'clientTimeouts', { kind: 'send' })).toBe(1), { timeout: 10_000, interval: 50 });
    await vi.waitFor(() => expect(upstreamClosed).toBe(1));
    client?.resume();
    // What the client still had buffered ends early: a chunked body without its last chunk.
    await expect(exchange).rejects.toThrow(/truncated/);
    expect(await blame(rt, h.agent)).toEqual({ 'gw-1': 'healthy failures=0 ejections=0' });
  });

  it('regression: a declared body over the limit is a 413 before any upstream is contacted', async () => {
    const { rt, ups } = await pool({ CAUSEWAY_MAX_REQUEST_BODY_BYTES: '1000' });
    // The body is never sent: the answer must not wait for it.
    const exchange = await sendRaw(rt.proxyAddress, 'POST /api HTTP/1.1\r\nHost: a.com\r\nContent-Length: 1001\r\n\r\n');
    const answer = only(exchange.responses);
    expect(answer.status).toBe(413);
    expect(errorBody(answer)).toEqual({ code: 'payload_too_large', message: 'the request body is larger than 1000 bytes' });
    expect(exchange.closed).toBe(true);
    expect(ups.map((u) => u.hits)).toEqual([0, 0]);
    expect(await metricValue(rt, 'requestBodiesTooLarge')).toBe(1);
    const atLimit = only((await sendRaw(rt.proxyAddress, `POST /api HTTP/1.1\r\nHost: a.com\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n${'y'.repeat(1000)}`)).responses);
    expect(JSON.parse(atLimit.body.toString())).toMatchObject({ bytes: 1000 });
  });

  it('regression: a chunked body that grows over the limit is a 413, aborts the upstream request and blames no member', async () => {
    const { rt, ups } = await pool({ CAUSEWAY_MAX_REQUEST_BODY_BYTES: '1000' });
    const piece = `258\r\n${'z'.repeat(600)}\r\n`;
    const exchange = await sendRaw(rt.proxyAddress, `POST /api HTTP/1.1\r\nHost: a.com\r\nTransfer-Encoding: chunked\r\n\r\n${piece}`, {
      onSocket: (socket) => {
        // The second piece goes once the upstream has the first: the limit is passed while streaming.
        const timer = setInterval(() => {
          if (ups[0]!.hits + ups[1]!.hits === 0) return;
          clearInterval(timer);
          socket.write(piece);
        }, 10);
        socket.on('close', () => clearInterval(timer));
      },
    });
    const answer = only(exchange.responses);
    expect(answer.status).toBe(413);
    expect(errorBody(answer)).toMatchObject({ code: 'payload_too_large', message: 'the request body is larger than 1000 bytes' });
    expect(exchange.closed).toBe(true);
    await vi.waitFor(() => expect(ups[0]!.aborted + ups[1]!.aborted).toBe(1));
    expect(ups[0]!.hits + ups[1]!.hits).toBe(1); // not retried on the other member
    expect(await metricValue(rt, 'requestBodiesTooLarge')).toBe(1);
    expect(await blame(rt, h.agent)).toEqual(healthy);
  });

  it('applies the header and keep-alive timeouts to the listener', async () => {
    const { rt } = await pool({ CAUSEWAY_CLIENT_HEADER_TIMEOUT_MS: '500', CAUSEWAY_CLIENT_KEEPALIVE_TIMEOUT_MS: '300' });
    // Headers that never end: Node's 408, checked every second (its own default is every 30 s).
    const slow = await sendRaw(rt.proxyAddress, 'GET /api HTTP/1.1\r\nHost: a.com\r\n');
    expect(only(slow.responses).status).toBe(408);
    expect(slow.ms).toBeLessThan(3_000);
    // An idle keep-alive connection is closed after the keep-alive timeout (Node's default: 5 s).
    const idle = await sendRaw(rt.proxyAddress, 'GET /api HTTP/1.1\r\nHost: a.com\r\n\r\n');
    expect(only(idle.responses).status).toBe(200);
    expect(idle.ms).toBeLessThan(3_000);
  });
});
