import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocate, allocationEnv, handshakesSeen, poolCounts, stepLog, tenantRequest } from '../harness/allocations.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call, type HttpResult } from '../harness/http.ts';
import { Stack, TEST_TOKEN, type ControllerProcess, type RuntimeProcess, type UpstreamProcess } from '../harness/processes.ts';

const cli = fileURLToPath(new URL('../../../controller/src/cli/main.ts', import.meta.url));
const run = promisify(execFile);

const MEMBERS = 5;

/** Many allocations at once through two replicas; release; the pool knows its users. */
describe('allocations at once, and their release', () => {
  let db: TestDatabase;
  let stack: Stack;
  let replicas: ControllerProcess[];
  let runtimes: RuntimeProcess[];
  let upstream: UpstreamProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    const env = allocationEnv(5_000, { CAUSEWAY_ALLOCATION_CONVERGE_TIMEOUT_MS: '15000' });
    replicas = await Promise.all(['c1', 'c2'].map((id) => stack.controller({ databaseUrl: db.url, id, env })));
    const [c1, c2] = replicas as [ControllerProcess, ControllerProcess];
    upstream = await stack.upstream('up-1');
    // Five gateways (one process answers for all: allocation tells them apart by name).
    const members = Array.from({ length: MEMBERS }, (_, i) => `gw-${i + 1}`);
    for (const name of members) await call(c1.adminUrl, 'PUT', `/v1/gateways/${name}`, { spec: { url: upstream.url } });
    await call(c1.adminUrl, 'PUT', '/v1/gateway-pools/shop', { spec: { members } });
    runtimes = await Promise.all([
      stack.runtime({ controllers: [c1.xdsAddress], nodeId: 'r1' }),
      stack.runtime({ controllers: [c2.xdsAddress], nodeId: 'r2' }),
    ]);
  });

  afterAll(async () => {
    await stack.close();
    await db.drop();
  });

  const replica = (i: number): ControllerProcess => replicas[i % replicas.length] as ControllerProcess;

  it('gives the same tenant asking twice at once one allocation', async () => {
    const [a, b] = await Promise.all([allocate(replica(0).adminUrl, 'shop', 'twin'), allocate(replica(1).adminUrl, 'shop', 'twin')]);
    expect([a?.status, b?.status].sort(), `${a?.text}\n${b?.text}`).toEqual([200, 201]);
    expect(a?.body.id).toBe(b?.body.id);
    expect(a?.body.state).toBe('ready');
    const list = await call(replica(0).adminUrl, 'GET', '/v1/allocations?tenant=twin');
    expect(list.body.items).toHaveLength(1);
    // And the same idempotency key asks for the same one, whatever replica answers.
    const keyed = await allocate(replica(1).adminUrl, 'shop', 'keyed', 'order-7');
    const again = await allocate(replica(0).adminUrl, 'shop', 'keyed', 'order-7');
    expect([keyed.status, again.status]).toEqual([201, 200]);
    expect(again.body.id).toBe(keyed.body.id);
    const misused = await allocate(replica(0).adminUrl, 'shop', 'other', 'order-7');
    expect(misused.status).toBe(409);
    expect(misused.body.error.message).toBe('idempotency key "order-7" was used for tenant "keyed" in pool "shop"');
  });

  it('releases: the route leaves every runtime, the handshake is taken back, the gateway is free again', async () => {
    const { body: twin } = await call(replica(0).adminUrl, 'GET', '/v1/allocations?tenant=twin');
    const allocation = twin.items[0];
    for (const r of runtimes) await eventually(async () => expect((await tenantRequest(r, 'twin')).upstream).toBe('up-1'));
    const before = await poolCounts(replica(0).adminUrl, 'shop');

    const released = await call(replica(1).adminUrl, 'DELETE', `/v1/allocations/${String(allocation.id)}`);
    expect(released.status, released.text).toBe(200);
    expect(released.body.state).toBe('released');
    expect(stepLog(released.body)).toEqual([
      'do reserve:done', 'do route:done', 'do converge:done', 'do handshake:done', 'undo handshake:done', 'undo route:done', 'undo reserve:done',
    ]);
    // The route's undo waited for the runtimes: both answer 404 at once.
    for (const r of runtimes) expect((await tenantRequest(r, 'twin')).status).toBe(404);
    expect(released.body.steps[5].detail).toBe('removed from 2 runtime(s)');
    const seen = (await handshakesSeen(upstream)).filter((h) => h.body?.allocation === allocation.id);
    expect(seen.map((h) => h.method)).toEqual(['POST', 'DELETE']);
    expect(seen[1]?.body).toEqual({ tenant: 'twin', allocation: allocation.id, host: allocation.host });
    expect(await poolCounts(replica(0).adminUrl, 'shop')).toEqual({ freeCount: before.freeCount + 1, allocatedCount: before.allocatedCount - 1, quarantinedCount: 0 });
    // Released again: the same answer, nothing more done.
    const again = await call(replica(0).adminUrl, 'DELETE', `/v1/allocations/${String(allocation.id)}`);
    expect(again.body).toEqual(released.body);

    const audit = await call(replica(0).adminUrl, 'GET', `/v1/audit-events?resource=allocation/${String(allocation.id)}&limit=1000`);
    const actions = audit.body.items.map((e: { action: string }) => e.action).reverse();
    expect(actions[0]).toBe('allocation.create');
    expect(actions.filter((a: string) => a === 'allocation.step')).toHaveLength(14);
    expect(actions.filter((a: string) => a !== 'allocation.step')).toEqual(['allocation.create', 'allocation.ready', 'allocation.release', 'allocation.release']);
  });

  it('hands out each gateway once: of 20 tenants at once through two replicas, 5 get one and 15 get 503', async () => {
    // Release the one still held, so that the pool is whole.
    const { body } = await call(replica(0).adminUrl, 'GET', '/v1/allocations?state=ready');
    for (const a of body.items) await call(replica(0).adminUrl, 'DELETE', `/v1/allocations/${String(a.id)}`);
    expect(await poolCounts(replica(0).adminUrl, 'shop')).toEqual({ freeCount: MEMBERS, allocatedCount: 0, quarantinedCount: 0 });

    const answers: HttpResult[] = await Promise.all(Array.from({ length: 20 }, (_, i) => allocate(replica(i).adminUrl, 'shop', `tenant-${i}`)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201), answers.filter((a) => a.status !== 201 && a.status !== 503).map((a) => a.text).join('\n')).toHaveLength(MEMBERS);
    expect(statuses.filter((s) => s === 503)).toHaveLength(20 - MEMBERS);
    for (const refused of answers.filter((a) => a.status === 503)) {
      expect(refused.body.error.code).toBe('no_gateway_available');
      expect(refused.body.allocation.state).toBe('rolled-back');
    }
    const gateways = answers.filter((a) => a.status === 201).map((a) => a.body.gateway);
    expect(new Set(gateways).size).toBe(MEMBERS);
    const ready = (await call(replica(1).adminUrl, 'GET', '/v1/allocations?state=ready')).body.items;
    expect(ready.map((a: { gateway: string }) => a.gateway).sort()).toEqual([...gateways].sort());
    expect(await poolCounts(replica(1).adminUrl, 'shop')).toEqual({ freeCount: 0, allocatedCount: MEMBERS, quarantinedCount: 0 });
    // Each served tenant reaches its own gateway on both runtimes.
    for (const a of answers.filter((x) => x.status === 201)) {
      for (const r of runtimes) expect((await tenantRequest(r, a.body.tenant)).status).toBe(200);
    }
  });

  it('lists allocations among the users of the pool, which cannot be deleted while one is live', async () => {
    const resources = await call(replica(0).adminUrl, 'GET', '/v1/gateway-pools/shop/resources');
    const allocations = resources.body.items.filter((i: { kind: string }) => i.kind === 'Allocation');
    expect(allocations).toHaveLength(MEMBERS);
    expect(allocations[0]).toMatchObject({ name: expect.stringMatching(/^alc_/), tenant: expect.stringMatching(/^tenant-/), state: 'ready' });

    const refused = await call(replica(1).adminUrl, 'DELETE', '/v1/gateway-pools/shop?force=true');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/^gateway pool "shop" has 5 live allocation\(s\): alc_/);

    for (const a of allocations) expect((await call(replica(1).adminUrl, 'DELETE', `/v1/allocations/${String(a.name)}`)).body.state).toBe('released');
    expect((await call(replica(0).adminUrl, 'GET', '/v1/gateway-pools/shop/resources')).body.items).toEqual([]);
    expect((await call(replica(0).adminUrl, 'DELETE', '/v1/gateway-pools/shop')).status).toBe(200);
  });

  it('allocates, lists and releases from the command line', async () => {
    const causeway = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      try {
        const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, CAUSEWAY_URL: replica(0).adminUrl, CAUSEWAY_TOKEN: TEST_TOKEN } });
        return { code: 0, stdout, stderr };
      } catch (error) {
        return error as { code: number; stdout: string; stderr: string };
      }
    };
    await call(replica(0).adminUrl, 'PUT', '/v1/gateway-pools/solo', { spec: { members: ['gw-1'] } });
    const made = await causeway('allocate', 'solo', 'initech');
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/^allocation\/(alc_[0-9a-f]{16}) ready: tenant initech on gateway gw-1, host initech\.tenants\.localhost\n$/);
    const id = /alc_[0-9a-f]{16}/.exec(made.stdout)?.[0] ?? '';

    const refused = await causeway('allocate', 'solo', 'hooli');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: no free healthy gateway in pool "solo"; 1 allocated\n');
    expect(refused.stderr).toMatch(/allocation alc_[0-9a-f]{16} is rolled-back; its steps:\n {2}do {3}reserve {3}failed \(c1\): no free healthy gateway/);

    const listed = await causeway('get', 'allocations');
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+TENANT\s+POOL\s+GATEWAY\s+HOST\s+STATE\s+ERROR\s+CREATED$/);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+initech\\s+solo\\s+gw-1\\s+initech\\.tenants\\.localhost\\s+ready\\s+-`));
    expect(listed.stdout).toMatch(/hooli\s+solo\s+-\s+hooli\.tenants\.localhost\s+rolled-back\s+no_gateway_available/);
    expect(JSON.parse((await causeway('get', 'allocation', id, '-o', 'json')).stdout).steps).toHaveLength(4);
    expect((await causeway('get', 'pools')).stdout).toMatch(/solo\s+gw-1\s+1\/1\s+healthy\s+0\s+0\s+1\s/);

    const released = await causeway('release', id);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toBe(`allocation/${id} released\n`);
    const missing = await causeway('release', 'alc_0000000000000000');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('allocation "alc_0000000000000000" does not exist');
  });
});
