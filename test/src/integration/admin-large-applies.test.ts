import { once } from 'node:events';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: { error?: { code: string; message: string }; items?: { name: string; result: string }[] };
}

/** A POST /v1/apply whose chunked body the test writes piece by piece. */
interface OpenApply {
  readonly req: ClientRequest;
  readonly answer: Promise<Answer>;
  /** Sends the rest of a valid body naming one gateway, and ends it. */
  finish(): void;
}

function openApply(base: string, gateway: string): OpenApply {
  const req = request(`${base}/v1/apply`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' } });
  req.on('error', () => undefined);
  const answer = (async (): Promise<Answer> => {
    const [response] = (await once(req, 'response')) as [IncomingMessage];
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    return { status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(Buffer.concat(chunks).toString()) as Answer['body'] };
  })();
  // No Content-Length: the length is unknown until the end, so the apply counts as large.
  req.write('{"items":[');
  return {
    req,
    answer,
    finish: () => req.end(`{"kind":"Gateway","metadata":{"name":"${gateway}"},"spec":{"url":"http://127.0.0.1:7001"}}]}`),
  };
}

async function gauge(base: string, name: string): Promise<number> {
  const text = (await call(base, 'GET', '/metrics', undefined, { token: null })).text;
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text);
  return Number(match?.[1] ?? Number.NaN);
}

async function expectGate(base: string, inProgress: number, waiting: number): Promise<void> {
  await eventually(async () => {
    expect(await gauge(base, 'causeway_controller_admin_large_applies_in_progress')).toBe(inProgress);
    expect(await gauge(base, 'causeway_controller_admin_large_applies_waiting')).toBe(waiting);
  });
}

describe('large applies', () => {
  let db: TestDatabase;
  let admin: AdminController;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url, { CAUSEWAY_ADMIN_LARGE_APPLY_QUEUE: '2' });
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
  });

  it('regression: concurrent large applies are read one at a time, a bounded number wait, the rest get 429 with Retry-After', async () => {
    const base = admin.base;
    const a = openApply(base, 'big-a');
    await expectGate(base, 1, 0);
    const b = openApply(base, 'big-b');
    await expectGate(base, 1, 1);
    const c = openApply(base, 'big-c');
    await expectGate(base, 1, 2);

    // The queue is full: refused before its body is read.
    const d = openApply(base, 'big-d');
    const refused = await d.answer;
    d.req.destroy();
    expect(refused.status).toBe(429);
    expect(refused.body.error?.code).toBe('too_many_requests');
    expect(refused.headers['retry-after']).toBe('5');
    expect(await gauge(base, 'causeway_controller_admin_large_applies_refused_total')).toBe(1);

    // A small apply (announced length under 1 MiB) does not queue behind them.
    const small = await call(base, 'POST', '/v1/apply', { items: [{ kind: 'Gateway', metadata: { name: 'small' }, spec: { url: 'http://127.0.0.1:7002' } }] });
    expect(small.status, small.text).toBe(200);

    // Finishing the one in progress lets exactly one waiting apply in.
    a.finish();
    expect((await a.answer).status).toBe(200);
    await expectGate(base, 1, 1);
    // C's whole body is sent, yet it waits until B (admitted before it) is done.
    c.finish();
    await expectGate(base, 1, 1);
    b.finish();
    expect((await b.answer).status).toBe(200);
    const last = await c.answer;
    expect(last.status).toBe(200);
    expect(last.body.items).toEqual([{ kind: 'Gateway', name: 'big-c', result: 'created', revision: expect.any(Number) as number }]);
    await expectGate(base, 0, 0);
    const names = (await call(base, 'GET', '/v1/gateways')).body.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    expect(names).toEqual(['big-a', 'big-b', 'big-c', 'small']);
  });

  it('frees the place of a waiting apply whose client goes away', async () => {
    const base = admin.base;
    const running = openApply(base, 'gone-a');
    await expectGate(base, 1, 0);
    const leaving = openApply(base, 'gone-b');
    await expectGate(base, 1, 1);
    leaving.req.destroy();
    await expect(leaving.answer).rejects.toThrow();
    await expectGate(base, 1, 0);
    running.finish();
    expect((await running.answer).status).toBe(200);
    await expectGate(base, 0, 0);
  });

  it('refuses a large apply that waited longer than CAUSEWAY_ADMIN_LARGE_APPLY_WAIT_MS', async () => {
    const impatient = await startAdminController(db.url, { CAUSEWAY_ADMIN_LARGE_APPLY_WAIT_MS: '1000' });
    try {
      const running = openApply(impatient.base, 'slow-a');
      await expectGate(impatient.base, 1, 0);
      const waiting = openApply(impatient.base, 'slow-b');
      const answer = await waiting.answer;
      waiting.req.destroy();
      expect(answer.status).toBe(429);
      expect(answer.body.error?.message).toContain('none finished within 1000 ms');
      expect(answer.headers['retry-after']).toBe('5');
      running.finish();
      expect((await running.answer).status).toBe(200);
    } finally {
      await impatient.close();
    }
  });
});
