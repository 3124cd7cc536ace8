import { setTimeout } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { createRuntime, loadRuntimeConfig, type Runtime } from '@causeway/runtime';
import { createLogger, typeUrls } from '@causeway/shared';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, type ControllerProcess } from '../harness/processes.ts';
import { hello, RawStream, type RequestInit } from '../harness/xds-raw-client.ts';

const silent = createLogger('test', { level: 'silent' });

/** Text of sizes from nothing to far past every bound (a request with several of the largest passes the 4 MiB message cap). */
const text = fc.oneof(
  { weight: 200, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 10, arbitrary: fc.constantFrom(64, 129, 300, 5_000).map((n) => 'é'.repeat(n)) },
  { weight: 1, arbitrary: fc.constant(100_000).map((n) => 'é'.repeat(n)) },
  { weight: 1, arbitrary: fc.constant(1_500_000).map((n) => 'é'.repeat(n)) },
);
const nodeId = fc.oneof(fc.constantFrom('fuzz-a', 'fuzz-b', 'steady'), text);
const typeUrl = fc.oneof(fc.constantFrom('', ...Object.values(typeUrls)), fc.constant('type.googleapis.com/causeway.config.v1.Nope'), text);
const revision = fc.oneof(fc.bigInt({ min: 0n, max: 1_000n }), fc.constantFrom(2n ** 53n, 2n ** 64n - 1n));

const node = fc.record({
  id: nodeId,
  zone: fc.oneof(fc.constantFrom('', 'default', 'eu-1'), text),
  labels: fc.dictionary(fc.oneof(fc.constantFrom('tier', 'team'), text), text, { maxKeys: 70 }),
  version: fc.oneof(fc.constant('0.1.0'), text),
  protocolVersion: fc.constantFrom(1, 1, 1, 0, 2),
});

const request: fc.Arbitrary<RequestInit> = fc.record(
  {
    node,
    typeUrl,
    initialResourceVersions: fc.dictionary(text, fc.oneof(fc.constantFrom('1', '7'), text), { maxKeys: 20 }),
    appliedRevision: revision,
    responseNonce: fc.oneof(fc.constantFrom('', '1', '2', '3'), text),
    errorDetail: fc.record({ code: fc.integer(), message: text }),
    report: fc.record({
      appliedRevision: revision,
      members: fc.array(fc.record({ cluster: fc.oneof(fc.constant('default/pool/p'), text), member: text, healthy: fc.boolean(), reason: text }), { maxLength: 5 }),
    }),
  },
  { requiredKeys: [] },
);

/** An answer to one of the first responses of an identified stream (nonces 1 to 3), mostly a NACK with a large message. */
const answer: fc.Arbitrary<RequestInit> = fc.record({
  typeUrl: fc.constantFrom(...Object.values(typeUrls)),
  responseNonce: fc.constantFrom('1', '2', '3'),
  errorDetail: fc.option(fc.record({ code: fc.integer(), message: fc.oneof(text, fc.constantFrom(10_000, 1_000_000).map((n) => 'x'.repeat(n))) }), { nil: undefined }),
});

/** One message on the wire: random bytes (sometimes past the message cap) or a request with random fields. */
const message = fc.oneof(
  { weight: 10, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => ({ bytes })) },
  { weight: 10, arbitrary: answer.map((req) => ({ req })) },
  { weight: 1, arbitrary: fc.constant(5 * 1024 * 1024).map((n) => ({ bytes: new Uint8Array(n).fill(0x0a) })) },
  { weight: 40, arbitrary: request.map((req) => ({ req })) },
);

/** A stream's messages: sometimes after a valid first request and subscriptions, so later ones reach the session. */
const scenario = fc.record({
  identified: fc.boolean(),
  messages: fc.array(message, { minLength: 1, maxLength: 8 }),
});

describe('config stream fuzz', () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  const stack = new Stack();
  let controller: ControllerProcess;
  let steady: Runtime;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = postgres(db.url, { max: 2, onnotice: () => undefined });
    controller = await stack.controller({ databaseUrl: db.url, env: { CAUSEWAY_LOG_LEVEL: 'info' } });
    await call(controller.adminUrl, 'PUT', '/v1/gateways/g', { spec: { url: 'http://127.0.0.1:9' } });
    await call(controller.adminUrl, 'PUT', '/v1/gateway-pools/p', { spec: { members: ['g'] } });
    await call(controller.adminUrl, 'PUT', '/v1/apis/before', { spec: { basePath: '/before', upstream: { pool: 'p' } } });
    const config = loadRuntimeConfig({
      CAUSEWAY_LISTEN_ADDR: '127.0.0.1:0',
      CAUSEWAY_RUNTIME_ADMIN_ADDR: '127.0.0.1:0',
      CAUSEWAY_CONTROLLERS: controller.xdsAddress,
      CAUSEWAY_NODE_ID: 'steady-runtime',
      CAUSEWAY_XDS_INSECURE: 'true',
    });
    steady = createRuntime(config, { logger: silent, shutdownGraceMs: 100 });
    await steady.start();
    await eventually(() => expect(steady.resources.api.has('default/before')).toBe(true), { message: () => stack.tails() });
  });

  afterAll(async () => {
    await steady.close();
    await stack.close();
    await sql.end();
    await db.drop();
  });

  it('stays up, keeps serving a well-behaved runtime, stores nothing unbounded and logs boundedly under malformed and oversized streams', async () => {
    const logBefore = controller.output.reduce((n, line) => n + line.length, 0);
    let streams = 0;
    let stalled = 0;
    const endedWith = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(scenario, async ({ identified, messages }) => {
        streams++;
        const s = new RawStream(controller.xdsAddress);
        try {
          if (identified) {
            s.send(hello('fuzz-identified'));
            s.send({ typeUrl: typeUrls.zone });
            s.send({ typeUrl: typeUrls.api });
          }
          for (const m of messages) {
            if ('bytes' in m) s.writeBytes(m.bytes);
            else s.send(m.req);
          }
          s.end();
          // A client still writing into a stream the controller has ended sees no status
          // until its writes drain, which they never do (grpc-js stops reading a stream it
          // ended and sends no RST_STREAM): like a runtime would, it gives up after a bound.
          const status = await Promise.race([s.status, setTimeout(500).then(() => undefined)]);
          if (status === undefined) stalled++;
          else endedWith.set(status.code, (endedWith.get(status.code) ?? 0) + 1);
          expect(s.undecodable).toBe(0);
          expect(controller.running).toBe(true);
        } finally {
          s.close();
        }
      }),
      { seed: 20_240_612, numRuns: 300, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false },
    );

    // A flood on one stream: reports and answers to responses that were never sent.
    const flood = new RawStream(controller.xdsAddress);
    flood.send(hello('fuzz-flood'));
    for (let i = 0; i < 5_000; i++) flood.send(i % 2 === 0 ? { report: { appliedRevision: BigInt(i), members: [] } } : { typeUrl: typeUrls.api, responseNonce: `n${i}` });
    flood.end();
    await flood.status;
    flood.close();

    expect(streams, `${stalled} of them gave up waiting for a status`).toBeGreaterThan(50);
    // Refused ones end with a clear status; the rest end normally when the client ends.
    expect([...endedWith.keys()]).toEqual(expect.arrayContaining([GrpcStatus.OK, GrpcStatus.INVALID_ARGUMENT, GrpcStatus.RESOURCE_EXHAUSTED]));

    // Still serving: a change made now reaches the runtime that stayed connected throughout.
    expect((await call(controller.adminUrl, 'GET', '/healthz')).status).toBe(200);
    await call(controller.adminUrl, 'PUT', '/v1/apis/after', { spec: { basePath: '/after', upstream: { pool: 'p' } } });
    await eventually(() => expect(steady.resources.api.has('default/after')).toBe(true), { message: () => stack.tails() });
    expect(steady.status().connected).toBe(true);

    // Nothing unbounded is stored.
    const [sizes] = await sql<{ node_id: number; zone: number; version: number; labels: number; nack: number; rejected: number }[]>`
      SELECT max(length(node_id)) AS node_id, max(length(zone)) AS zone, max(length(version)) AS version,
             max((SELECT count(*) FROM jsonb_object_keys(labels))) AS labels, coalesce(max(length(last_nack_error)), 0) AS nack,
             (SELECT coalesce(max(length(error)), 0) FROM runtime_nacks) AS rejected
      FROM runtimes`;
    expect(Number(sizes?.node_id)).toBeLessThanOrEqual(128);
    expect(Number(sizes?.zone)).toBeLessThanOrEqual(32);
    expect(Number(sizes?.version)).toBeLessThanOrEqual(64);
    expect(Number(sizes?.labels)).toBeLessThanOrEqual(64);
    expect(Number(sizes?.nack)).toBeLessThan(4_200);
    expect(Number(sizes?.rejected)).toBeLessThan(4_200);

    // Log volume grows with the number of streams, not with what they sent.
    const logged = controller.output.reduce((n, line) => n + line.length, 0) - logBefore;
    expect(logged / (streams + 1)).toBeLessThan(6_000);
  });
});
