import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, issueToken } from '../harness/access.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';
import { Stack, TEST_TOKEN, type ControllerProcess } from '../harness/processes.ts';

interface RuntimeState {
  nodeId: string;
  state: string;
  error?: string;
}
interface StatusEvent {
  event: string;
  data: { revision?: number; runtimes?: RuntimeState[]; error?: { code: string; message: string } };
}

/** An open `…/status/events` stream, read one server-sent event at a time. */
class EventStream {
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  readonly abort: AbortController;

  constructor(body: ReadableStream<Uint8Array>, abort: AbortController) {
    this.reader = body.getReader();
    this.abort = abort;
  }

  static async open(base: string, api: string, token = TEST_TOKEN): Promise<EventStream> {
    const abort = new AbortController();
    const response = await fetch(`${base}/v1/apis/${api}/status/events`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    if (response.body === null) throw new Error('no body');
    return new EventStream(response.body, abort);
  }

  /** The next event (keep-alive comments skipped), or undefined when the stream ended. */
  async next(): Promise<StatusEvent | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const frame = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        if (frame.startsWith(':')) continue;
        const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(frame)?.[1] ?? '{}';
        return { event, data: JSON.parse(data) as StatusEvent['data'] };
      }
      const { value, done } = await this.reader.read();
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Reads events until one matches, failing after `timeoutMs`. */
  async until(match: (e: StatusEvent) => boolean, timeoutMs = 15_000): Promise<StatusEvent> {
    const deadline = Date.now() + timeoutMs;
    const timer = setTimeout(() => this.abort.abort(), timeoutMs);
    try {
      for (;;) {
        const event = await this.next();
        if (event === undefined) throw new Error('the stream ended');
        if (match(event)) return event;
        if (Date.now() > deadline) throw new Error('no matching event in time');
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

const stateOf = (e: StatusEvent, node: string): RuntimeState | undefined => e.data.runtimes?.find((r) => r.nodeId === node);

/** Issue 17: the console's live deployment status, as the controller streams it. */
describe('deployment status as server-sent events', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url });
    const upstream = await stack.upstream('upstream-1');
    await call(controller.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: upstream.url } });
    await stack.runtime({ controllers: [controller.xdsAddress], nodeId: 'lenient' });
  });

  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  it('sends the status now and each runtime answer as it comes, and an error event when the API goes away', async () => {
    const created = await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' } } });
    const first = created.body.metadata.revision as number;
    const stream = await EventStream.open(controller.adminUrl, 'orders');
    await stream.until((e) => e.event === 'status' && e.data.revision === first && stateOf(e, 'lenient')?.state === 'acked');

    // A runtime that refuses request timeouts over 20 s joins; the next revision asks for 60 s.
    await stack.runtime({ controllers: [controller.xdsAddress], nodeId: 'strict', env: { CAUSEWAY_MAX_REQUEST_TIMEOUT_MS: '20000' } });
    const updated = await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' }, timeouts: { requestMs: 60_000 } } });
    const second = updated.body.metadata.revision as number;
    const written = performance.now();
    const answered = await stream.until((e) => e.data.revision === second && stateOf(e, 'lenient')?.state === 'acked' && stateOf(e, 'strict')?.state === 'nacked');
    console.log(`both answers to revision ${second} streamed ${Math.round(performance.now() - written)} ms after the write`);
    expect(stateOf(answered, 'strict')?.error).toMatch(/CAUSEWAY_MAX_REQUEST_TIMEOUT_MS/);

    expect((await call(controller.adminUrl, 'DELETE', '/v1/apis/orders')).status).toBe(200);
    const gone = await stream.until((e) => e.event === 'error');
    expect(gone.data.error?.code).toBe('not_found');
    expect(await stream.next()).toBeUndefined();
  });

  it('ends a stream within about a second of the revocation of the token that opened it', async () => {
    expectStatus(await call(controller.adminUrl, 'PUT', '/v1/apis/payments', { spec: { basePath: '/payments', upstream: { gateway: 'gw-1' } } }), 'PUT payments', 201);
    const token = await issueToken(controller.adminUrl, 'default', 'status-watcher', 'viewer');
    const stream = await EventStream.open(controller.adminUrl, 'payments', token.secret);
    await stream.until((e) => e.event === 'status');
    expectStatus(await call(controller.adminUrl, 'DELETE', `/v1/tokens/${token.id}`), 'revoke', 200);
    const revokedAt = performance.now();
    const ended = await stream.until((e) => e.event === 'error', 5_000);
    expect(ended.data.error?.code).toBe('unauthenticated');
    expect(performance.now() - revokedAt).toBeLessThan(2_500);
    expect(await stream.next()).toBeUndefined();
  });

  it('refuses before any stream: 404 for an API that does not exist, 401 without a token', async () => {
    const missing = await call(controller.adminUrl, 'GET', '/v1/apis/nothing/status/events');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const anonymous = await call(controller.adminUrl, 'GET', '/v1/apis/nothing/status/events', undefined, { token: null });
    expect(anonymous.status).toBe(401);
  });
});
