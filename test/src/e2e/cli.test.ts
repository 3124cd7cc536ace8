import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, TEST_TOKEN, type ControllerProcess } from '../harness/processes.ts';

const cli = fileURLToPath(new URL('../../../controller/src/cli/main.ts', import.meta.url));
const run = promisify(execFile);

/** The `causeway` command as an operator runs it, against a controller process. */
describe('causeway CLI', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;
  let dir: string;

  beforeEach(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url });
    dir = await mkdtemp(join(tmpdir(), 'causeway-cli-'));
  });

  afterEach(async () => {
    await stack.close();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The command run with `token` as CAUSEWAY_TOKEN. */
  async function causewayAs(token: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, CAUSEWAY_URL: controller.adminUrl, CAUSEWAY_TOKEN: token }, maxBuffer: 64 * 1024 * 1024 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  const causeway = (...args: string[]): ReturnType<typeof causewayAs> => causewayAs(TEST_TOKEN, ...args);

  it('applies a multi-document YAML file in dependency order, lists, and deletes', async () => {
    const upstream = await stack.upstream('upstream-1');
    const file = join(dir, 'api.yaml');
    // The API comes first in the file; apply still creates the gateway and pool before it.
    await writeFile(file, [
      'apiVersion: causeway/v1', 'kind: Api', 'metadata: { name: orders }', 'spec:', '  basePath: /orders', '  upstream: { pool: shop }',
      '---',
      'apiVersion: causeway/v1', 'kind: GatewayPool', 'metadata: { name: shop }', 'spec: { members: [gw-1] }',
      '---',
      'apiVersion: causeway/v1', 'kind: Gateway', 'metadata: { name: gw-1 }', `spec: { url: "${upstream.url}" }`,
    ].join('\n'));
    const applied = await causeway('apply', '-f', file);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.trim().split('\n').map((l) => l.replace(/ \(revision \d+\)$/, ''))).toEqual([
      'gateway/gw-1 created', 'gatewaypool/shop created', 'api/orders created',
    ]);
    const again = await causeway('apply', '-f', file);
    expect(again.stdout).toContain('api/orders unchanged');

    const apis = await causeway('get', 'apis');
    expect(apis.stdout.split('\n')[0]).toMatch(/^NAME\s+HOSTS\s+BASE PATH\s+UPSTREAM\s+REVISION$/);
    expect(apis.stdout).toMatch(/orders\s+\*\s+\/orders\s+pool\/shop/);
    const json = JSON.parse((await causeway('get', 'api', 'orders', '-o', 'json')).stdout);
    expect(json.spec.basePath).toBe('/orders');
    const pools = await causeway('get', 'pools');
    expect(pools.stdout).toMatch(/shop\s+gw-1\s+1\/1\s+healthy\s+1/);

    const refused = await causeway('delete', 'pool', 'shop');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('gateway pool "shop" is still used by API "orders"');
    expect((await causeway('delete', 'api', 'orders')).stdout).toMatch(/^api\/orders deleted \(revision \d+\)/);
    expect((await call(controller.adminUrl, 'GET', '/v1/apis/orders')).status).toBe(404);
  });

  it('reports every bad field of a document and changes nothing', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify([{ apiVersion: 'causeway/v1', kind: 'Api', metadata: { name: 'orders' }, spec: { basePath: 'orders', upstream: { pool: 'Orders' } } }]));
    const result = await causeway('apply', '-f', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: api/orders (${file}#1): spec.basePath: "orders" must start with '/'`);
    expect(result.stderr).toContain(`spec.upstream.pool: "Orders" is not a slug (lowercase letters, digits, '-', max 32)`);
    expect((await call(controller.adminUrl, 'GET', '/v1/apis')).body.items).toEqual([]);
  });

  it('says what is wrong with the command line and the connection', async () => {
    expect((await causeway('get', 'widgets')).stderr).toContain('unknown kind "widgets"');
    expect((await causeway('apply')).stderr).toContain('-f FILE is required');
    const unreachable = await run(process.execPath, [cli, 'get', 'apis'], { env: { ...process.env, CAUSEWAY_URL: 'http://127.0.0.1:1', CAUSEWAY_TOKEN: TEST_TOKEN } }).catch((e: unknown) => e as { stderr: string });
    expect((unreachable as { stderr: string }).stderr).toContain('cannot reach the controller at http://127.0.0.1:1');
    const runtimes = await eventually(async () => causeway('get', 'runtimes'));
    expect(runtimes.stdout).toContain('No resources found.');
  });

  it('creates an org and a token for it, acts with the token, reads the audit log, and is refused once the token is revoked', async () => {
    const upstream = await stack.upstream('upstream-1');
    expect((await causeway('orgs', 'create', 'shop')).stdout).toMatch(/^org\/shop created \(revision \d+\)$/m);
    expect((await causeway('orgs', 'get')).stdout).toMatch(/^shop\s+bootstrap\s/m);

    const created = await causeway('--org', 'shop', 'tokens', 'create', 'ci', '--role', 'operator', '--expires', '24h');
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^cw_[A-Za-z0-9_-]{54}$/);
    expect(created.stderr).toContain('it is not shown again');
    const listed = await causeway('--org', 'shop', 'tokens', 'get');
    expect(listed.stdout).toMatch(/^tok_[0-9a-f]{16}\s+ci\s+operator\s+active\s+bootstrap\s/m);
    expect(listed.stdout).not.toContain(secret);

    const file = join(dir, 'shop.yaml');
    await writeFile(file, [
      'kind: Api', 'metadata: { name: orders }', 'spec: { basePath: /orders, upstream: { gateway: gw-1 } }',
      '---',
      'kind: Gateway', 'metadata: { name: gw-1 }', `spec: { url: "${upstream.url}" }`,
    ].join('\n'));
    const applied = await causewayAs(secret, 'apply', '-f', file);
    expect(applied.code, applied.stderr).toBe(0);
    // Written in the token's org: the default org has no such API, the shop org has.
    expect((await call(controller.adminUrl, 'GET', '/v1/apis/orders')).status).toBe(404);
    expect((await causeway('--org', 'shop', 'get', 'apis')).stdout).toMatch(/^orders\s+\*\s+\/orders\s+gateway\/gw-1/m);

    const audit = await causewayAs(secret, 'audit', '--since', '1h', '-o', 'json');
    expect(audit.code, audit.stderr).toBe(0);
    const events = (JSON.parse(audit.stdout) as { items: { action: string; actor: { name: string }; resource: { kind: string; name: string } }[] }).items;
    expect(events.map((e) => `${e.action} ${e.resource.kind}/${e.resource.name} by ${e.actor.name}`)).toEqual([
      'api.create api/orders by ci',
      'gateway.create gateway/gw-1 by ci',
      'token.create token/ci by bootstrap',
    ]);
    // An org's creation is in the log of the bootstrap token's org, which outlives it.
    const orgEvents = await causeway('audit', '--resource', 'org/shop', '-o', 'json');
    expect((JSON.parse(orgEvents.stdout) as { items: { action: string }[] }).items.map((e) => e.action)).toEqual(['org.create']);
    const table = await causewayAs(secret, 'audit', '--resource', 'api/orders');
    expect(table.stdout).toMatch(/^TIME\s+ACTOR\s+ACTION\s+RESOURCE\s+OUTCOME\s+REVISION\s+CHANGED$/m);
    expect(table.stdout).toMatch(/\sci\s+api\.create\s+api\/orders\s+ok\s+\d+\s+spec\.basePath,spec\.failover\.enabled,spec\.failover\.zones \+9$/m);

    // Only the bootstrap token may choose an org.
    const elsewhere = await causewayAs(secret, '--org', 'default', 'get', 'apis');
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain('only the bootstrap token may choose an org');

    expect((await causeway('--org', 'shop', 'tokens', 'revoke', 'ci')).stdout).toMatch(/^token tok_[0-9a-f]{16} "ci" revoked$/m);
    const refused = await causewayAs(secret, 'get', 'apis');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: a valid bearer token is required');
  });

  it('names the missing permission, and manages custom roles and gateway heartbeat tokens', async () => {
    const upstream = await stack.upstream('upstream-1');
    const viewer = (await causeway('tokens', 'create', 'reader', '--role', 'viewer')).stdout.trim();
    const file = join(dir, 'gw.yaml');
    await writeFile(file, `kind: Gateway\nmetadata: { name: gw-1 }\nspec: { url: "${upstream.url}" }\n`);
    const denied = await causewayAs(viewer, 'apply', '-f', file);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('error: token "reader" (role viewer) may not create gateways: needs gateways:create');
    expect((await causewayAs(viewer, 'tokens', 'get')).stderr).toContain('needs tokens:read');

    const set = await causeway('roles', 'set', 'gw-admin', '--permission', 'gateways:read,create,edit', '--permission', 'audit-events:read');
    expect(set.stdout, set.stderr).toMatch(/^role\/gw-admin created \(revision \d+\)$/m);
    expect((await causeway('roles', 'get', 'gw-admin')).stdout).toMatch(/^SUBJECT\s+ACTIONS\ngateways\s+read,create,edit\naudit-events\s+read$/m);
    const roleFile = join(dir, 'role.yaml');
    await writeFile(roleFile, 'kind: Role\nmetadata: { name: gw-admin }\nspec:\n  permissions:\n    - { subject: gateways, actions: [read, create, edit] }\n');
    expect((await causeway('roles', 'apply', '-f', roleFile)).stdout).toMatch(/^role\/gw-admin updated \(revision \d+\)$/m);
    expect((await causeway('roles', 'get')).stdout).toMatch(/^gw-admin\s+false\s+gateways:read,create,edit\s+\d+$/m);
    const custom = (await causeway('tokens', 'create', 'gw-ci', '--role', 'gw-admin', '--expires', 'never')).stdout.trim();
    expect((await causewayAs(custom, 'apply', '-f', file)).code).toBe(0);
    expect((await causewayAs(custom, 'audit')).stderr).toContain('needs audit-events:read');
    expect((await causeway('roles', 'delete', 'gw-admin')).stderr).toContain('gw-ci'); // still used by a live token

    const heartbeat = await causeway('gateways', 'token', 'gw-1', '--expires', '1h');
    expect(heartbeat.code, heartbeat.stderr).toBe(0);
    expect(heartbeat.stderr).toContain('(heartbeats of gateway "gw-1")');
    const beat = await call(controller.adminUrl, 'POST', '/v1/gateways/gw-1/heartbeat', {}, { token: heartbeat.stdout.trim() });
    expect(beat.status, beat.text).toBe(200);
    expect((await causewayAs(heartbeat.stdout.trim(), 'get', 'gateways')).code).toBe(1);
  });

  // A cursor cut to milliseconds skipped every later event written in the same millisecond as a page's last one.
  it('audit follows the cursor past a page without skipping events of the same millisecond, up to --limit', async () => {
    const file = join(dir, 'many.json');
    // One write of 1,001 gateways: 1,001 audit events, more than the API answers in one page.
    await writeFile(file, JSON.stringify(Array.from({ length: 1_001 }, (_, i) => ({ kind: 'Gateway', metadata: { name: `gw-${i}` }, spec: { url: 'http://127.0.0.1:9' } }))));
    expect((await causeway('apply', '-f', file)).code).toBe(0);
    const all = JSON.parse((await causeway('audit', '--resource', 'gateway', '--limit', '5000', '-o', 'json')).stdout) as { items: { id: number }[]; nextCursor: string | null };
    expect(all.items).toHaveLength(1_001);
    expect(new Set(all.items.map((e) => e.id)).size).toBe(1_001);
    expect(all.nextCursor).toBeNull();
    const some = JSON.parse((await causeway('audit', '--resource', 'gateway', '--limit', '1000', '-o', 'json')).stdout) as { items: unknown[]; nextCursor: string | null };
    expect(some.items).toHaveLength(1_000);
    expect(some.nextCursor).not.toBeNull();
    expect((await causeway('audit', '--limit', '0')).stderr).toContain('--limit: "0" is not a whole number');
  });
});
