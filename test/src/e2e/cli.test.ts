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

  async function causeway(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, CAUSEWAY_URL: controller.adminUrl, CAUSEWAY_TOKEN: TEST_TOKEN } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

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
});
