import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { expectStatus, issueToken } from '../harness/access.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';
import { Stack, TEST_TOKEN, type ControllerProcess } from '../harness/processes.ts';

/** Nothing a client sends as a credential, nor any secret the controller makes, reaches its log. */
describe('secrets are never logged', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url, id: 'chatty', env: { CAUSEWAY_LOG_LEVEL: 'trace', CAUSEWAY_ADMIN_AUTH_FAILURES_PER_SECOND: '2' } });
  });

  afterAll(async () => {
    await stack.close();
    await db.drop();
  });

  it('at trace level, no Authorization value and no token secret appears in the controller\'s output', async () => {
    const base = controller.adminUrl;
    const sent: string[] = [TEST_TOKEN];
    const role = await issueToken(base, 'default', 'ci', 'operator');
    const short = await issueToken(base, 'default', 'short', 'viewer', 60);
    expectStatus(await call(base, 'PUT', '/v1/gateways/gw-1', { spec: { url: 'http://127.0.0.1:7001' } }, { token: role.secret }), 'gateway', 201);
    const beat = expectStatus(await call(base, 'POST', '/v1/gateways/gw-1/tokens', {}), 'gateway token', 201);
    const heartbeat: string = beat.body.token;
    sent.push(role.secret, short.secret, heartbeat);
    expectStatus(await call(base, 'POST', '/v1/gateways/gw-1/heartbeat', {}, { token: heartbeat }), 'heartbeat', 200);
    expectStatus(await call(base, 'GET', '/v1/apis', undefined, { token: short.secret }), 'viewer read', 200);
    expectStatus(await call(base, 'DELETE', `/v1/tokens/${short.id}`), 'revoke', 200);
    expectStatus(await call(base, 'GET', '/v1/apis', undefined, { token: short.secret }), 'revoked', 401);
    // Refusals of every kind: denied, wrong, tampered, malformed, an org header, a bad URL, throttled.
    expectStatus(await call(base, 'PUT', '/v1/gateways/gw-2', { spec: { url: 'http://127.0.0.1:7002' } }, { token: role.secret, headers: {} }), 'operator write', 201);
    expectStatus(await call(base, 'GET', '/v1/tokens', undefined, { token: role.secret }), 'denied', 403);
    expectStatus(await call(base, 'GET', '/v1/apis', undefined, { token: role.secret, headers: { 'causeway-org': 'default' } }), 'org header', 403);
    const wrong = [`cw_${'Q'.repeat(role.secret.length - 3)}`, `${role.secret.slice(0, -3)}AAA`, 'not-a-token-at-all-but-long', `${TEST_TOKEN}x`];
    sent.push(...wrong);
    for (const token of wrong) await call(base, 'GET', '/v1/apis', undefined, { token });
    const raw = new Pool(base);
    for (const path of ['/v1/%zz', `/v1/${'x'.repeat(100)}`]) {
      const answer = await raw.request({ method: 'GET', path, headers: { authorization: `Bearer ${role.secret}` } });
      await answer.body.dump();
    }
    await raw.close();

    // A clean stop flushes everything it would write.
    await controller.stop();
    const output = controller.output.join('\n');
    expect(output).toContain('"msg":"controller ready"');
    expect(controller.output.some((line) => /"level":(10|20)\b/.test(line))).toBe(true);
    for (const secret of sent) expect(output.includes(secret), `a secret (${secret.slice(0, 6)}…) was logged`).toBe(false);
    for (const secret of sent.filter((s) => s.startsWith('cw_'))) expect(output).not.toContain(secret.slice(3, 30));
    expect(output).not.toMatch(/bearer\s+\S/i);
  });
});
