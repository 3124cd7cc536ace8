import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, TEST_TOKEN, type ControllerProcess, type UpstreamProcess } from '../harness/processes.ts';

const cli = fileURLToPath(new URL('../../../controller/src/cli/main.ts', import.meta.url));
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** diff, apply --prune/--wait, status, rollback, -o formats and completion, against one stack of processes. */
describe('causeway CLI: diff, prune, wait, status, rollback', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;
  let upstream: UpstreamProcess;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url });
    upstream = await stack.upstream('upstream-1');
    // The runtime refuses request timeouts over 30 s: an API asking for more is NACKed.
    await stack.runtime({ controllers: [controller.xdsAddress], nodeId: 'strict', env: { CAUSEWAY_MAX_REQUEST_TIMEOUT_MS: '30000' } });
    await eventually(async () => expect((await call(controller.adminUrl, 'GET', '/v1/runtimes')).body.items.filter((r: { connected: boolean }) => r.connected)).toHaveLength(1));
    dir = await mkdtemp(join(tmpdir(), 'causeway-cli-deploy-'));
  });

  afterAll(async () => {
    await stack.close();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function causeway(...args: string[]): Promise<Result> {
    try {
      const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, CAUSEWAY_URL: controller.adminUrl, CAUSEWAY_TOKEN: TEST_TOKEN } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as Result;
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  async function file(name: string, ...docs: string[][]): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, docs.map((d) => d.join('\n')).join('\n---\n'));
    return path;
  }

  const gateway = (): string[] => [
    // Written the way a person might; the server stores it canonical (lower-case scheme, no trailing '/').
    'kind: Gateway', 'metadata: { name: gw-1, labels: { team: shop } }', `spec: { url: "${upstream.url.replace('http://', 'HTTP://')}/" }`,
  ];
  const api = (name: string, team: string, spec = 'basePath: /orders'): string[] => [
    'kind: Api', `metadata: { name: ${name}, labels: { team: ${team} } }`, `spec: { ${spec}, upstream: { gateway: gw-1 } }`,
  ];
  const items = (r: Result): string[] => r.stdout.trim().split('\n');

  it('diffs against what the server stores, applies with --wait, and prunes only what the selector owns', async () => {
    const first = await file('shop.yaml', gateway(), api('orders', 'shop'), api('legacy', 'shop', 'basePath: /legacy'));
    const created = await causeway('diff', '-f', first);
    expect(created.code, created.stderr).toBe(1);
    expect(items(created)).toEqual(['gateway/gw-1 created', 'api/orders created', 'api/legacy created']);
    expect((await call(controller.adminUrl, 'GET', '/v1/apis')).body.items).toEqual([]);

    const applied = await causeway('apply', '-f', first, '--wait', '--timeout', '20s');
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^api\/orders revision \d+ applied by 1 runtime\(s\)$/m);
    expect(applied.stdout).toMatch(/^api\/legacy revision \d+ applied by 1 runtime\(s\)$/m);
    // Another team's API, with the same kind of labels: prune must leave it.
    expect((await causeway('apply', '-f', await file('other.yaml', api('billing', 'billing', 'basePath: /billing')))).code).toBe(0);

    const same = await causeway('diff', '-f', first);
    expect(same.code, same.stderr).toBe(0);
    expect(items(same)).toEqual(['gateway/gw-1 unchanged', 'api/orders unchanged', 'api/legacy unchanged']);

    const second = await file('shop-2.yaml', gateway(), api('orders', 'shop', 'basePath: /v2/orders'));
    const changed = await causeway('diff', '-f', second, '--prune', '-l', 'team=shop');
    expect(changed.code, changed.stderr).toBe(1);
    expect(changed.stdout).toContain('api/orders changed\n  spec.basePath: "/orders" -> "/v2/orders"\n');
    expect(changed.stdout).toMatch(/^api\/legacy deleted \(not in the file/m);
    expect(changed.stdout).not.toContain('billing');
    expect((await call(controller.adminUrl, 'GET', '/v1/apis/orders')).body.spec.basePath).toBe('/orders');

    const refused = await causeway('apply', '-f', second, '--prune');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--prune needs -l');
    const pruned = await causeway('apply', '-f', second, '--prune', '-l', 'team=shop');
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/^api\/legacy deleted \(revision \d+\)$/m);
    expect((await call(controller.adminUrl, 'GET', '/v1/apis/legacy')).status).toBe(404);
    expect((await call(controller.adminUrl, 'GET', '/v1/apis/billing')).status).toBe(200);
    expect((await causeway('diff', '-f', second, '--prune', '-l', 'team=shop')).code).toBe(0);

    const broken = await causeway('diff', '-f', await file('bad.yaml', api('orders', 'shop', 'basePath: orders')));
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`spec.basePath: "orders" must start with '/'`);
  });

  it('fails apply --wait on a rejection with the runtime\'s message, shows it in status, and rolls back', async () => {
    const before = (await call(controller.adminUrl, 'GET', '/v1/apis/orders')).body.metadata.revision as number;
    const slow = await file('slow.yaml', gateway(), api('orders', 'shop', 'basePath: /v2/orders, timeouts: { requestMs: 60000 }'));
    const waited = await causeway('apply', '-f', slow, '--wait', '--timeout', '20s');
    expect(waited.code).toBe(1);
    expect(waited.stderr).toMatch(/error: api\/orders revision \d+ rejected by runtime strict \(zone [^)]+\): .*CAUSEWAY_MAX_REQUEST_TIMEOUT_MS/);

    const status = await causeway('status', 'api', 'orders');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^api\/orders revision \d+: 0 applied, 1 rejected, 0 pending$/m);
    expect(status.stdout).toMatch(/^strict\s+\S+\s+\S+\s+rejected\s+.*CAUSEWAY_MAX_REQUEST_TIMEOUT_MS/m);
    const json = JSON.parse((await causeway('status', 'api', 'orders', '-o', 'json')).stdout);
    expect(json.summary).toEqual({ total: 1, acked: 0, nacked: 1, pending: 0 });

    const rolled = await causeway('rollback', 'api', 'orders', '--wait', '--timeout', '20s');
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toMatch(new RegExp(`^api/orders rolled back to revision ${before} \\(revision \\d+\\)$`, 'm'));
    expect(rolled.stdout).toMatch(/^api\/orders revision \d+ applied by 1 runtime\(s\)$/m);
    expect((await causeway('status', 'api', 'orders')).stdout).toMatch(/^strict\s+\S+\s+\S+\s+applied\s+-$/m);

    const revisions = (await call(controller.adminUrl, 'GET', '/v1/apis/orders/revisions')).body.items as { revision: number; spec: { basePath: string } }[];
    const oldest = revisions.at(-1) as { revision: number };
    const to = await causeway('rollback', 'api', 'orders', '--to', String(oldest.revision));
    expect(to.code, to.stderr).toBe(0);
    expect((await call(controller.adminUrl, 'GET', '/v1/apis/orders')).body.spec.basePath).toBe('/orders');
    const missing = await causeway('rollback', 'api', 'orders', '--to', '999999');
    expect(missing.code).toBe(1);
  });

  it('prints every kind as table, wide, json and yaml', async () => {
    const all = await file('all.yaml', gateway(), api('listed', 'shop', 'basePath: /listed'),
      ['kind: GatewayPool', 'metadata: { name: shop-pool }', 'spec: { members: [gw-1] }'],
      ['kind: Zone', 'metadata: { name: eu }', 'spec: {}'],
      ['kind: Consumer', 'metadata: { name: acme }', 'spec: {}']);
    const applied = await causeway('apply', '-f', all);
    expect(applied.code, applied.stderr).toBe(0);
    // Runtimes and controllers have live fields (last seen): the same items, not the same instant.
    const key = (i: { metadata?: { name: string }; nodeId?: string; id?: string }): string | undefined => i.metadata?.name ?? i.nodeId ?? i.id;
    const paths = { apis: 'apis', gateways: 'gateways', pools: 'gateway-pools', zones: 'zones', consumers: 'consumers', runtimes: 'runtimes', controllers: 'controllers', allocations: 'allocations' };
    for (const [kind, path] of Object.entries(paths)) {
      const [yaml, wide, fromApi] = await Promise.all([causeway('get', kind, '-o', 'yaml'), causeway('get', kind, '-o', 'wide'), call(controller.adminUrl, 'GET', `/v1/${path}`)]);
      expect(yaml.code, yaml.stderr).toBe(0);
      expect(fromApi.body.items.length > 0, kind).toBe(kind !== 'allocations');
      expect((parse(yaml.stdout) as unknown[]).map((i) => key(i as Parameters<typeof key>[0])), kind).toEqual(fromApi.body.items.map(key));
      expect(wide.code, wide.stderr).toBe(0);
      expect(wide.stdout.trim().split('\n'), kind).toHaveLength(Math.max(2, fromApi.body.items.length + 1) - (fromApi.body.items.length === 0 ? 1 : 0));
      if (kind === 'apis') expect(wide.stdout).toMatch(/^listed\s.*\steam=shop\s+\d{4}-/m);
      if (kind === 'runtimes') expect(wide.stdout.split('\n')[0]).toMatch(/ORG\s+LABELS\s+CERT EXPIRES$/);
    }
    const json = JSON.parse((await causeway('get', 'api', 'listed', '-o', 'json')).stdout);
    expect(json).toMatchObject({ kind: 'Api', metadata: { name: 'listed', labels: { team: 'shop' } }, spec: { basePath: '/listed' } });
    const bad = await causeway('get', 'apis', '-o', 'xml');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('-o "xml" is not one of table, wide, json, yaml');
  });

  it('prints completion scripts that bash loads and that name the commands', async () => {
    const bash = await causeway('completion', 'bash');
    expect(bash.code).toBe(0);
    for (const command of ['apply', 'diff', 'rollback', 'status', 'get', 'completion']) expect(bash.stdout).toContain(command);
    const script = join(dir, 'completion.bash');
    await writeFile(script, bash.stdout);
    const loaded = await run('bash', ['-c', `source ${script} && complete -p causeway && COMP_WORDS=(causeway ro) COMP_CWORD=1 && _causeway && echo "\${COMPREPLY[*]}"`]);
    expect(loaded.stdout).toContain('complete -o default -F _causeway causeway');
    expect(loaded.stdout.trim().split('\n').at(-1)).toBe('rollback roles');
    const zsh = await causeway('completion', 'zsh');
    expect(zsh.stdout.startsWith('#compdef causeway')).toBe(true);
    expect(zsh.stdout).toContain('diff');
    expect((await causeway('completion', 'fish')).code).toBe(1);
  });
});
