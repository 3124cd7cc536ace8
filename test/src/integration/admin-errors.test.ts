import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpStatusFor, type ErrorCode } from '@causeway/shared';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

/** Asserts the one error envelope, with the status of its code. */
function expectError(response: { status: number; body: unknown; text?: string }, code: ErrorCode): { code: string; message: string; details?: { path: string; message: string }[] } {
  const error = (response.body as { error?: { code: string; message: string; details?: { path: string; message: string }[] } } | undefined)?.error;
  expect(error?.code, response.text ?? JSON.stringify(response.body)).toBe(code);
  expect(response.status).toBe(httpStatusFor(code));
  expect(Object.keys(error ?? {}).every((k) => ['code', 'message', 'details'].includes(k))).toBe(true);
  return error as { code: string; message: string };
}

/** Sends only the headers of a request announcing `length` bytes; resolves with the answer. */
async function announce(base: string, method: string, path: string, length: number, contentType = 'application/json'): Promise<{ status: number; body: unknown }> {
  const req = request(`${base}${path}`, { method, headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': contentType, 'content-length': String(length) } });
  req.on('error', () => undefined);
  req.flushHeaders();
  const [response] = (await once(req, 'response')) as [IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  req.destroy();
  return { status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as unknown };
}

/** Sends `body` chunked (no Content-Length), in 8 KiB pieces. */
async function chunked(base: string, method: string, path: string, body: string): Promise<{ status: number; body: unknown }> {
  const req = request(`${base}${path}`, { method, headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' } });
  req.on('error', () => undefined);
  const answered = once(req, 'response') as Promise<[IncomingMessage]>;
  for (let i = 0; i < body.length; i += 8_192) req.write(body.slice(i, i + 8_192));
  req.end();
  const [response] = await answered;
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return { status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as unknown };
}

/** Writes raw bytes on a new connection and returns what came back before it closed. */
async function raw(port: number, bytes: string): Promise<{ status: number; body: unknown }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(bytes);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), body: JSON.parse(body) as unknown };
}

const nested = (depth: number, leaf = '1'): string => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;

describe('admin API errors', () => {
  let db: TestDatabase;
  let admin: AdminController;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url);
    base = admin.base;
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
  });

  it('regression: 5,000 levels of nested JSON or YAML are a 400 naming the depth limit, not a 500', async () => {
    const before = await admin.revision();
    for (const [path, body, contentType] of [
      ['/v1/apis/deep', `{"spec":${nested(5_000)}}`, 'application/json'],
      ['/v1/apis/deep', `{"spec":{"basePath":${nested(5_000)}}}`, 'application/json'],
      ['/v1/apis/deep', `spec: ${nested(5_000)}`, 'application/yaml'],
      ['/v1/apis/deep', `spec:\n${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 1)}a${i}:`).join('\n')} 1`, 'application/yaml'],
      ['/v1/apply', `{"items":[{"kind":"Api","spec":${nested(5_000)}}]}`, 'application/json'],
      ['/v1/apply', nested(1_000_000), 'application/json'],
    ] as const) {
      const response = await call(base, path === '/v1/apply' ? 'POST' : 'PUT', path, body, { contentType });
      const error = expectError(response, 'invalid_argument');
      expect(error.details).toEqual([{ path: '(body)', message: 'is nested more than 64 levels deep (objects and lists)' }]);
    }
    // YAML aliases nest what the text does not: the depth of the value counts.
    const aliases = ['a0: &a0 [1]', ...Array.from({ length: 70 }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}]`)].join('\n');
    expectError(await call(base, 'PUT', '/v1/apis/deep', aliases, { contentType: 'application/yaml' }), 'invalid_argument');
    // 64 levels are fine as far as parsing goes; the document is then checked as usual.
    const deepest = await call(base, 'PUT', '/v1/apis/deep', `{"spec":${nested(63)}}`);
    expect(expectError(deepest, 'invalid_argument').details?.[0]?.path).toBe('spec');
    expect(await admin.revision()).toBe(before);
  });

  it('regression: text that PostgreSQL cannot store is a 400 naming the field, not a 500', async () => {
    for (const text of ['a\u0000b', 'a\ud800b']) {
      const response = await call(base, 'PUT', '/v1/gateways/gw-text', { metadata: { labels: { team: text } }, spec: { url: 'http://127.0.0.1:7001' } });
      expect(expectError(response, 'invalid_argument').details?.[0]?.path).toBe('metadata.labels.team');
    }
    expect((await call(base, 'GET', '/v1/gateways/gw-text')).status).toBe(404);
  });

  it('regression: a text/plain body is 415 unsupported_media_type, as documented', async () => {
    expectError(await call(base, 'PUT', '/v1/apis/plain', '{"spec":{}}', { contentType: 'text/plain' }), 'unsupported_media_type');
    expectError(await call(base, 'POST', '/v1/apply', '{"items":[]}', { contentType: 'application/x-www-form-urlencoded' }), 'unsupported_media_type');
  });

  it('regression: framework errors (bad percent-encoding, over-long segment, unknown route, wrong method) answer the one envelope', async () => {
    const badUrl = expectError(await call(base, 'GET', '/v1/apis/%E0%A4%A'), 'invalid_argument');
    expect(badUrl.details).toEqual([{ path: '(url)', message: 'is not a valid URL (bad percent-encoding)' }]);
    expectError(await call(base, 'GET', `/v1/apis/${'a'.repeat(65)}`), 'uri_too_long');
    // Node ids are the one longer name (up to 128 characters): the rule leaves them routable.
    expect(expectError(await call(base, 'POST', `/v1/runtimes/${'n'.repeat(128)}/revoke`), 'not_found').message).toBe(`runtime "${'n'.repeat(128)}" is not known`);
    expectError(await call(base, 'POST', `/v1/runtimes/${'n'.repeat(129)}/revoke`), 'uri_too_long');
    expectError(await call(base, 'GET', '/v1/nothing/here/at/all'), 'not_found');
    expectError(await call(base, 'PATCH', '/v1/apis'), 'not_found');
    // Without a token, none of them says more than 401.
    for (const path of ['/v1/apis/%E0%A4%A', `/v1/apis/${'a'.repeat(65)}`, '/v1/nothing']) {
      expectError(await call(base, 'GET', path, undefined, { token: null }), 'unauthenticated');
    }
  });

  it('regression: a malformed request and oversized headers answer the envelope from Node itself', async () => {
    const port = admin.controller.adminAddress.port;
    expectError(await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'), 'invalid_argument');
    expectError(await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 'headers_too_large');
    expectError(await raw(port, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), 'headers_too_large');
  });

  it('has a body limit on every route, answered 413 payload_too_large before the body is read', async () => {
    const limits: [string, string, number][] = [
      ['PUT', '/v1/apis/big', 1024 * 1024],
      ['POST', '/v1/gateway-pools', 1024 * 1024],
      ['DELETE', '/v1/apis/big', 1024 * 1024],
      ['PATCH', '/v1/gateway-pools/p', 16 * 1024],
      ['POST', '/v1/gateway-pools/p/memberships', 16 * 1024],
      ['POST', '/v1/gateways/g/heartbeat', 16 * 1024],
      ['POST', '/v1/apis/a/rollback', 16 * 1024],
      ['POST', '/v1/apply', 64 * 1024 * 1024],
    ];
    for (const [method, path, limit] of limits) {
      const over = await announce(base, method, path, limit + 1);
      const error = expectError(over, 'payload_too_large');
      expect(error.message).toContain(`limit of ${limit} bytes`);
    }
    // A body of unknown length (chunked) is counted as it arrives.
    expectError(await chunked(base, 'POST', '/v1/gateways/g/heartbeat', `{"pad":"${'x'.repeat(20_000)}"}`), 'payload_too_large');
    expectError(await chunked(base, 'PUT', '/v1/apis/big', `{"pad":"${'x'.repeat(1024 * 1024)}"}`), 'payload_too_large');
  });
});
