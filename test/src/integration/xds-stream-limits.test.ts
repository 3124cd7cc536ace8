import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { createController, loadControllerConfig } from '@causeway/controller';
import { createRuntime, loadRuntimeConfig, type Runtime } from '@causeway/runtime';
import { createLogger, formatAddress, typeUrls } from '@causeway/shared';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, TEST_TOKEN, type ControllerProcess } from '../harness/processes.ts';
import { hello, rawConnection, RawStream, type RequestInit } from '../harness/xds-raw-client.ts';

const silent = createLogger('test', { level: 'silent' });

function outputBytes(proc: ControllerProcess): number {
  return proc.output.reduce((n, line) => n + Buffer.byteLength(line) + 1, 0);
}

describe('config stream limits', () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  const stack = new Stack();
  const cleanups: (() => unknown)[] = [];

  function stream(controller: ControllerProcess): RawStream {
    const s = new RawStream(controller.xdsAddress);
    cleanups.push(() => s.close());
    return s;
  }

  /** A stream subscribed to every type, as a runtime opens one. */
  function subscribed(controller: ControllerProcess, nodeId: string): RawStream {
    const s = stream(controller);
    s.send(hello(nodeId, 'cluster'));
    s.send({ typeUrl: typeUrls.zone });
    s.send({ typeUrl: typeUrls.api });
    return s;
  }

  async function runtime(controller: ControllerProcess, nodeId: string): Promise<Runtime> {
    const config = loadRuntimeConfig({
      CAUSEWAY_LISTEN_ADDR: '127.0.0.1:0',
      CAUSEWAY_RUNTIME_ADMIN_ADDR: '127.0.0.1:0',
      CAUSEWAY_CONTROLLERS: controller.xdsAddress,
      CAUSEWAY_NODE_ID: nodeId,
      CAUSEWAY_XDS_INSECURE: 'true',
    });
    const rt = createRuntime(config, { logger: silent, shutdownGraceMs: 100, backoff: { initialMs: 20, maxMs: 200 } });
    await rt.start();
    cleanups.push(() => rt.close());
    return rt;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = postgres(db.url, { max: 2, onnotice: () => undefined });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await stack.close();
  });

  afterAll(async () => {
    await sql.end();
    await db.drop();
  });

  it('regression: a runtime on an empty deployment is ready: every type gets a first (empty) response', async () => {
    const controller = await stack.controller({ databaseUrl: db.url });
    const rt = await runtime(controller, 'empty-deployment');
    const readiness = await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${rt.adminAddress.port}/readyz`);
      expect(response.status).toBe(200);
      return response.json();
    }, { timeoutMs: 3_000, message: () => stack.tails() });
    expect(readiness).toMatchObject({ status: 'ready', source: 'controller', connected: true });
    const s = subscribed(controller, 'empty-raw');
    const responses = await s.responsesAtLeast(3);
    expect(responses.map((r) => [r.typeUrl, r.resources.length, r.removedResources.length])).toEqual([
      [typeUrls.cluster, 0, 0],
      [typeUrls.zone, 0, 0],
      [typeUrls.api, 0, 0],
    ]);
  });

  it('regression: a NACK carrying a 3 MB error message is logged and stored cut to 4 KiB', async () => {
    const controller = await stack.controller({ databaseUrl: db.url });
    const s = subscribed(controller, 'nack-sender');
    const [first] = await s.responsesAtLeast(1);
    const before = outputBytes(controller);
    s.send({ typeUrl: first?.typeUrl ?? '', responseNonce: first?.nonce ?? '', errorDetail: { code: 3, message: 'x'.repeat(3 * 1024 * 1024) } });
    const [row] = await eventually(async () => {
      const rows = await sql<{ last_nack_error: string | null }[]>`SELECT last_nack_error FROM runtimes WHERE node_id = 'nack-sender'`;
      expect(rows[0]?.last_nack_error).toBeTruthy();
      return rows;
    });
    expect(row?.last_nack_error?.length).toBeLessThan(4_200);
    expect(row?.last_nack_error).toMatch(/^x{4096} … \[truncated: 3141632 more characters\]$/);
    await controller.logLine('runtime rejected config (NACK)');
    expect(outputBytes(controller) - before).toBeLessThan(16 * 1024);
  });

  it('refuses a stream that breaks an identity rule or a request bound, with INVALID_ARGUMENT naming the field, and stores nothing of it', async () => {
    const controller = await stack.controller({ databaseUrl: db.url });
    const cases: { request: RequestInit; field: string; then?: RequestInit }[] = [
      { request: hello('n'.repeat(100_000)), field: 'node.id' },
      { request: hello('has space'), field: 'node.id' },
      { request: hello('zone-rt', 'cluster', { zone: 'Not A Slug' }), field: 'node.zone' },
      { request: hello('labels-rt', 'cluster', { labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }), field: 'node.labels' },
      { request: hello('label-rt', 'cluster', { labels: { tier: 'v'.repeat(64) } }), field: 'node.labels["tier"]' },
      { request: hello('version-rt', 'cluster', { version: '1'.repeat(65) }), field: 'node.version' },
      { request: { ...hello('names-rt'), initialResourceVersions: { ['a'.repeat(257)]: '1' } }, field: 'initial_resource_versions' },
      { request: { ...hello('nonce-rt'), responseNonce: 'n'.repeat(65) }, field: 'response_nonce' },
      { request: { ...hello('type-rt'), typeUrl: `type.googleapis.com/${'x'.repeat(300)}` }, field: 'type_url' },
      { request: { ...hello('revision-rt'), appliedRevision: 2n ** 60n }, field: 'applied_revision' },
      { request: hello('twice-rt'), then: { typeUrl: typeUrls.cluster }, field: 'type_url' },
    ];
    for (const { request, field, then } of cases) {
      const s = stream(controller);
      s.send(request);
      if (then !== undefined) s.send(then);
      const status = await s.status;
      expect(status.code, field).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect(status.details.startsWith(`${field}: `), status.details).toBe(true);
      expect(status.details.length).toBeLessThan(400);
    }
    const rows = await sql<{ node_id: string }[]>`SELECT node_id FROM runtimes WHERE node_id <> 'twice-rt'`;
    expect(rows.map((r) => r.node_id).filter((id) => id.endsWith('-rt') || id.length > 128)).toEqual([]);
  });

  it('caps concurrent streams per replica: beyond CAUSEWAY_XDS_MAX_STREAMS RESOURCE_EXHAUSTED, counted', async () => {
    const controller = await stack.controller({ databaseUrl: db.url, env: { CAUSEWAY_XDS_MAX_STREAMS: '2' } });
    const first = subscribed(controller, 'cap-1');
    const second = subscribed(controller, 'cap-2');
    await Promise.all([first.responsesAtLeast(3), second.responsesAtLeast(3)]);
    const third = subscribed(controller, 'cap-3');
    const refused = await third.status;
    expect(refused.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(refused.details).toContain('CAUSEWAY_XDS_MAX_STREAMS');
    const metrics = await call(controller.adminUrl, 'GET', '/metrics');
    expect(metrics.text).toContain('causeway_controller_xds_streams_refused_total{reason="max_streams"} 1');
    first.end();
    await first.status;
    await eventually(async () => {
      const again = subscribed(controller, 'cap-4');
      await again.responsesAtLeast(3);
    });
  });

  it('regression: a second stream claiming a live runtime\'s node id does not leave the runtime shown disconnected', async () => {
    const controller = await stack.controller({ databaseUrl: db.url });
    const rt = await runtime(controller, 'real-runtime');
    const shown = async (): Promise<void> => {
      const runtimes = await call(controller.adminUrl, 'GET', '/v1/runtimes');
      expect(runtimes.body.items.find((r: { nodeId: string }) => r.nodeId === 'real-runtime')).toMatchObject({ connected: true });
      expect(rt.status().connected).toBe(true);
    };
    await eventually(shown, { message: () => stack.tails() });
    // Another stream says it is the same runtime, gets its config, and leaves.
    const impostor = subscribed(controller, 'real-runtime');
    await impostor.responsesAtLeast(1);
    impostor.end();
    await impostor.status;
    // The newer stream won and the older (the real runtime's) was closed; the runtime came back.
    await controller.logLine('a newer stream of a connected runtime arrived; closing the older one');
    await eventually(shown, { message: () => stack.tails() });
    const [row] = await sql<{ connected: boolean }[]>`SELECT connected FROM runtimes WHERE node_id = 'real-runtime'`;
    expect(row?.connected).toBe(true);
  });

  it('closes a stream that does not say which runtime it is in time, and one whose runtime leaves responses unanswered', async () => {
    const own = await createTestDatabase();
    cleanups.push(() => own.drop());
    const controller = createController(
      loadControllerConfig({ CAUSEWAY_DATABASE_URL: own.url, CAUSEWAY_ADMIN_TOKEN: TEST_TOKEN, CAUSEWAY_XDS_INSECURE: 'true', CAUSEWAY_ADMIN_ADDR: '127.0.0.1:0', CAUSEWAY_XDS_ADDR: '127.0.0.1:0' }),
      { log: silent, xds: { identifyTimeoutMs: 300, maxPendingResponses: 4 } },
    );
    await controller.start();
    cleanups.push(() => controller.close());
    const address = formatAddress(controller.xdsAddress);
    const silentStream = new RawStream(address);
    cleanups.push(() => silentStream.close());
    const timedOut = await silentStream.status;
    expect(timedOut.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(timedOut.details).toBe('no node identity within 300 ms');

    const deaf = new RawStream(address);
    cleanups.push(() => deaf.close());
    deaf.send(hello('deaf-runtime', 'cluster'));
    deaf.send({ typeUrl: typeUrls.zone });
    deaf.send({ typeUrl: typeUrls.api });
    await deaf.responsesAtLeast(3);
    const base = `http://127.0.0.1:${controller.adminAddress.port}`;
    await call(base, 'PUT', '/v1/gateways/g', { spec: { url: 'http://127.0.0.1:9' } });
    await call(base, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'g' } } });
    const overflowed = await deaf.status;
    expect(overflowed.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(overflowed.details).toBe('the runtime left 4 responses unanswered');
  });

  it('serves at most 16 streams on one connection: more wait until one ends', async () => {
    const controller = createController(
      loadControllerConfig({ CAUSEWAY_DATABASE_URL: db.url, CAUSEWAY_ADMIN_TOKEN: TEST_TOKEN, CAUSEWAY_XDS_INSECURE: 'true', CAUSEWAY_ADMIN_ADDR: '127.0.0.1:0', CAUSEWAY_XDS_ADDR: '127.0.0.1:0' }),
      { log: silent },
    );
    await controller.start();
    cleanups.push(() => controller.close());
    const connection = rawConnection(formatAddress(controller.xdsAddress));
    cleanups.push(() => connection.close());
    const streams = Array.from({ length: 17 }, (_, i) => {
      const s = new RawStream(connection);
      cleanups.push(() => s.close());
      s.send(hello(`shared-${i}`, 'cluster'));
      s.send({ typeUrl: typeUrls.zone });
      s.send({ typeUrl: typeUrls.api });
      return s;
    });
    const [first, ...rest] = streams;
    const last = rest.pop();
    await Promise.all([first, ...rest].map((s) => s?.responsesAtLeast(3)));
    expect(last?.responses).toEqual([]);
    first?.end();
    await last?.responsesAtLeast(3);
  });
});
