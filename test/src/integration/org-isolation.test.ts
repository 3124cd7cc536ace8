import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, expectStatus, inOrg, issueToken, putRole, type IssuedToken } from '../harness/access.ts';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';

const cli = fileURLToPath(new URL('../../../controller/src/cli/main.ts', import.meta.url));
const run = promisify(execFile);

/** What org b owns; none of these names may show through org a's token. */
const ofB = { gateway: 'gw-bravo', pool: 'pool-bravo', api: 'api-bravo', role: 'role-bravo', token: 'tok-bravo' };

describe('org isolation: org a\'s admin cannot see, name, change or delete anything of org b', () => {
  let db: TestDatabase;
  let admin: AdminController;
  let dir: string;
  let tokenA: IssuedToken;
  let tokenB: IssuedToken;

  const asA = (method: string, path: string, body?: unknown) => call(admin.base, method, path, body, { token: tokenA.secret });
  const asBootstrapIn = (org: string, method: string, path: string, body?: unknown) => call(admin.base, method, path, body, inOrg(org));

  /** Everything org b has, as its own view shows it (revisions included): must not move. */
  async function stateOfB(): Promise<string> {
    const paths = ['/v1/gateways', '/v1/gateway-pools', '/v1/apis', '/v1/roles', '/v1/tokens', `/v1/apis/${ofB.api}/revisions`];
    const answers = await Promise.all(paths.map((p) => asBootstrapIn('b', 'GET', p)));
    // Health and last use change on their own; what was written does not.
    return JSON.stringify(answers.map((a) => a.body.items.map((i: Record<string, unknown>) => ({ ...i, status: undefined, lastUsedAt: undefined }))));
  }

  async function causeway(token: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, CAUSEWAY_URL: admin.base, CAUSEWAY_TOKEN: token } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url);
    dir = await mkdtemp(join(tmpdir(), 'causeway-orgs-'));
    await createOrg(admin.base, 'a');
    await createOrg(admin.base, 'b');
    const inB = async (method: string, path: string, body?: unknown) => expectStatus(await asBootstrapIn('b', method, path, body), `${method} ${path} in b`, 200, 201);
    await inB('PUT', `/v1/gateways/${ofB.gateway}`, { spec: { url: 'http://127.0.0.1:7201' } });
    await inB('PUT', `/v1/gateway-pools/${ofB.pool}`, { spec: { members: [ofB.gateway] } });
    await inB('PUT', `/v1/apis/${ofB.api}`, { spec: { basePath: '/bravo', upstream: { pool: ofB.pool } } });
    await inB('PUT', `/v1/apis/${ofB.api}`, { spec: { basePath: '/bravo', upstream: { pool: ofB.pool }, timeouts: { requestMs: 5_000 } } });
    await putRole(admin.base, 'b', ofB.role, [{ subject: 'apis', actions: ['read'] }]);
    tokenB = await issueToken(admin.base, 'b', ofB.token, ofB.role);
    tokenA = await issueToken(admin.base, 'a', 'tok-alpha', 'admin');
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists none of b\'s names and answers 404, never 403, to every read and write that names them (REST)', async () => {
    const before = await stateOfB();
    for (const path of ['/v1/gateways', '/v1/gateway-pools', '/v1/apis', '/v1/roles', '/v1/tokens', '/v1/audit-events']) {
      const listed = await asA('GET', path);
      expect(listed.status, path).toBe(200);
      for (const name of Object.values(ofB)) expect(listed.text, `${path} shows ${name}`).not.toContain(name);
      expect(listed.text).not.toContain(tokenB.id);
    }
    const named: [string, string, unknown?][] = [
      ['GET', `/v1/gateways/${ofB.gateway}`],
      ['GET', `/v1/gateway-pools/${ofB.pool}`],
      ['GET', `/v1/gateway-pools/${ofB.pool}/resources`],
      ['GET', `/v1/apis/${ofB.api}`],
      ['GET', `/v1/apis/${ofB.api}/revisions`],
      ['GET', `/v1/apis/${ofB.api}/status`],
      ['GET', `/v1/roles/${ofB.role}`],
      ['PATCH', `/v1/gateway-pools/${ofB.pool}`, { spec: { description: 'taken' } }],
      ['POST', `/v1/gateway-pools/${ofB.pool}/memberships`, { gateway: ofB.gateway }],
      ['DELETE', `/v1/gateway-pools/${ofB.pool}/memberships/${ofB.gateway}`],
      ['POST', `/v1/apis/${ofB.api}/rollback`, {}],
      ['POST', `/v1/gateways/${ofB.gateway}/heartbeat`, {}],
      ['POST', `/v1/gateways/${ofB.gateway}/tokens`, {}],
      ['DELETE', `/v1/apis/${ofB.api}`],
      ['DELETE', `/v1/gateway-pools/${ofB.pool}`],
      ['DELETE', `/v1/gateways/${ofB.gateway}`],
      ['DELETE', `/v1/tokens/${tokenB.id}`],
      ['DELETE', `/v1/roles/${ofB.role}`],
      // Attach: an API or a pool of a naming b's pool or gateway.
      ['PUT', '/v1/apis/api-alpha', { spec: { basePath: '/alpha', upstream: { pool: ofB.pool } } }],
      ['PUT', '/v1/apis/api-alpha', { spec: { basePath: '/alpha', upstream: { gateway: ofB.gateway } } }],
      ['PUT', '/v1/gateway-pools/pool-alpha', { spec: { members: [ofB.gateway] } }],
      ['POST', '/v1/gateway-pools', { metadata: { name: 'pool-alpha' }, spec: { members: [ofB.gateway] } }],
    ];
    const answers = await Promise.all(named.map(async ([method, path, body]) => `${method} ${path} ${(await asA(method, path, body)).status}`));
    expect(answers).toEqual(named.map(([method, path]) => `${method} ${path} 404`));
    // The refused references created nothing in a either.
    expect((await asA('GET', '/v1/apis')).body.items).toEqual([]);
    expect((await asA('GET', '/v1/gateway-pools')).body.items).toEqual([]);
    expect(await stateOfB()).toBe(before);
    // b's token still works: nothing of b was revoked.
    expect((await call(admin.base, 'GET', '/v1/apis', undefined, { token: tokenB.secret })).body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual([ofB.api]);
  });

  it('POST /v1/apply acts in the token\'s org: a document naming b\'s pool is 404 and writes nothing; the others land in a only', async () => {
    const before = await stateOfB();
    const revision = await admin.revision();
    const refused = await asA('POST', '/v1/apply', {
      items: [
        { kind: 'Gateway', metadata: { name: 'gw-alpha' }, spec: { url: 'http://127.0.0.1:7101' } },
        { kind: 'Api', metadata: { name: 'api-alpha' }, spec: { basePath: '/alpha', upstream: { pool: ofB.pool } } },
      ],
    });
    expect(refused.status).toBe(404);
    expect(refused.body.error.details).toEqual([expect.objectContaining({ path: 'items[1].spec.upstream.pool' })]);
    expect(await admin.revision()).toBe(revision);
    expect((await asA('GET', '/v1/gateways')).body.items).toEqual([]);

    // b's names are free in a: the same names make a's own resources, and b's stay as they were.
    const applied = await asA('POST', '/v1/apply', {
      items: [
        { kind: 'Gateway', metadata: { name: ofB.gateway }, spec: { url: 'http://127.0.0.1:7102' } },
        { kind: 'GatewayPool', metadata: { name: ofB.pool }, spec: { members: [ofB.gateway] } },
        { kind: 'Api', metadata: { name: ofB.api }, spec: { basePath: '/alpha', upstream: { pool: ofB.pool } } },
      ],
    });
    expect(applied.status, applied.text).toBe(200);
    expect(applied.body.items.map((i: { result: string }) => i.result)).toEqual(['created', 'created', 'created']);
    expect((await asA('GET', `/v1/gateways/${ofB.gateway}`)).body.spec.url).toBe('http://127.0.0.1:7102');
    expect((await asBootstrapIn('b', 'GET', `/v1/gateways/${ofB.gateway}`)).body.spec.url).toBe('http://127.0.0.1:7201');
    expect(await stateOfB()).toBe(before);
    // Nothing landed in default either.
    expect((await call(admin.base, 'GET', '/v1/gateways')).body.items).toEqual([]);
    for (const [method, path] of [['DELETE', `/v1/apis/${ofB.api}`], ['DELETE', `/v1/gateway-pools/${ofB.pool}`], ['DELETE', `/v1/gateways/${ofB.gateway}`]] as const) {
      expectStatus(await asA(method, path), `${method} ${path} in a`, 200);
    }
  });

  it('causeway apply -f with a token of a writes in a, and cannot name, read or delete what b owns', async () => {
    const before = await stateOfB();
    const crossing = join(dir, 'crossing.yaml');
    await writeFile(crossing, ['kind: Api', 'metadata: { name: api-cli }', 'spec:', '  basePath: /cli', `  upstream: { pool: ${ofB.pool} }`].join('\n'));
    const refused = await causeway(tokenA.secret, 'apply', '-f', crossing);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`gateway pool "${ofB.pool}" does not exist`);

    const own = join(dir, 'own.yaml');
    await writeFile(own, [
      'kind: Gateway', 'metadata: { name: gw-cli }', 'spec: { url: "http://127.0.0.1:7103" }', '---',
      'kind: Api', 'metadata: { name: api-cli }', 'spec:', '  basePath: /cli', '  upstream: { gateway: gw-cli }',
    ].join('\n'));
    const applied = await causeway(tokenA.secret, 'apply', '-f', own);
    expect(applied.code, applied.stderr).toBe(0);
    expect((await asA('GET', '/v1/apis/api-cli')).status).toBe(200);
    expect((await asBootstrapIn('b', 'GET', '/v1/apis/api-cli')).status).toBe(404);
    expect((await call(admin.base, 'GET', '/v1/apis/api-cli')).status).toBe(404);

    const listed = await causeway(tokenA.secret, 'get', 'apis');
    expect(listed.stdout).toContain('api-cli');
    expect(listed.stdout).not.toContain(ofB.api);
    const read = await causeway(tokenA.secret, 'get', 'api', ofB.api);
    expect(read.code).toBe(1);
    expect(read.stderr).toContain('does not exist');
    const deleted = await causeway(tokenA.secret, 'delete', 'pool', ofB.pool);
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toContain(`gateway pool "${ofB.pool}" does not exist`);
    expect(await stateOfB()).toBe(before);
  });

  it('refuses Causeway-Org from an org token (403), and lets the bootstrap token act in b with it', async () => {
    for (const org of ['b', 'a']) {
      const refused = await call(admin.base, 'GET', '/v1/apis', undefined, { token: tokenA.secret, headers: { 'causeway-org': org } });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('permission_denied');
    }
    const inB = await asBootstrapIn('b', 'GET', '/v1/apis');
    expect(inB.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual([ofB.api]);
    const created = await asBootstrapIn('b', 'PUT', '/v1/gateways/gw-bootstrap', { spec: { url: 'http://127.0.0.1:7202' } });
    expect(created.status).toBe(201);
    expect((await asBootstrapIn('b', 'GET', '/v1/gateways/gw-bootstrap')).body.metadata.name).toBe('gw-bootstrap');
    expect((await call(admin.base, 'GET', '/v1/gateways/gw-bootstrap')).status).toBe(404);
    expect((await asA('GET', '/v1/gateways/gw-bootstrap')).status).toBe(404);
    expect((await asBootstrapIn('no-such-org', 'GET', '/v1/apis')).status).toBe(404);
    // The audit event of the bootstrap token's write is b's.
    const events = await asBootstrapIn('b', 'GET', '/v1/audit-events?resource=gateway/gw-bootstrap');
    expect(events.body.items).toEqual([expect.objectContaining({ org: 'b', action: 'gateway.create', actor: expect.objectContaining({ kind: 'bootstrap' }) })]);
    expect((await asA('GET', '/v1/audit-events?resource=gateway/gw-bootstrap')).body.items).toEqual([]);
  });
});
