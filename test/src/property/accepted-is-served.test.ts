import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createController, loadControllerConfig, type Controller } from '@causeway/controller';
import { createRuntime, loadRuntimeConfig, type Runtime } from '@causeway/runtime';
import { createLogger, formatAddress } from '@causeway/shared';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

const silent = createLogger('test', { level: 'silent' });

/** Numbers around every bound the rules have, and some far outside. */
const number = fc.oneof(
  fc.constantFrom(0, 1, 49, 50, 99, 100, 500, 2_000, 60_000, 60_001, 300_000, 300_001, 3_600_000, 1.5, -1),
  fc.integer({ min: -10, max: 400_000 }),
);
const pathChars = fc.constantFrom('a', 'd', 'Z', '0', '-', '.', '_', '~', '*', '(', ':', '@', '%', '%2e', '%2E', '%64', '%2f', '%zz', '%C3%A9', ' ', '/', '//', '#', '?');
const basePath = fc.oneof(
  fc.constantFrom('', '/', '/dup', '/%64up', '/%2e%2e', '/x/%2e%2e/y', '/x%zz', '/a/', '/a//b'),
  fc.array(pathChars, { maxLength: 8 }).map((parts) => `/${parts.join('')}`),
);
const host = fc.constantFrom('api.example.com', 'API.example.com', 'a.com:80', '10.0.0.1', 'x', '-bad', 'ok.example');
const url = fc.oneof(
  fc.constantFrom('http://127.0.0.1:9', 'HTTP://127.0.0.1:9/', 'https://GW.example:443/base/', 'http://127.0.0.1:9/a b', 'http://u@h', 'ftp://h', 'http://h/?x', 'http://[::1]:9/p/../q'),
  fc.webUrl(),
);
const name = fc.constantFrom('g1', 'g2', 'p1', 'eu-1', 'eu-2', 'a1', 'a2', 'a3');

const gateway = fc.record({
  kind: fc.constant('Gateway'),
  metadata: fc.record({ name: fc.constantFrom('g1', 'g2') }),
  spec: fc.record(
    {
      url,
      zone: fc.constantFrom('default', 'eu-1', 'eu-2'),
      healthCheck: fc.record(
        { path: fc.constantFrom('/', '/health?x=1', 'health', '/a b', ''), intervalMs: number, timeoutMs: number, healthyThreshold: number, unhealthyThreshold: number },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['url'] },
  ),
});
const pool = fc.record({
  kind: fc.constant('GatewayPool'),
  metadata: fc.record({ name: fc.constant('p1') }),
  spec: fc.record({ members: fc.uniqueArray(fc.constantFrom('g1', 'g2'), { maxLength: 2 }) }),
});
const zone = fc.record({
  kind: fc.constant('Zone'),
  metadata: fc.record({ name: fc.constantFrom('eu-1', 'eu-2') }),
  spec: fc.record({ dtcUrl: fc.oneof(fc.constant(''), url), failoverEligible: fc.boolean(), failoverPriority: number }, { requiredKeys: [] }),
});
const api = fc.record({
  kind: fc.constant('Api'),
  metadata: fc.record({ name: fc.constantFrom('a1', 'a2', 'a3') }),
  spec: fc.record(
    {
      basePath,
      hosts: fc.uniqueArray(host, { maxLength: 3 }),
      methods: fc.uniqueArray(fc.constantFrom('GET', 'POST', 'DELETE', 'get', 'M-SEARCH'), { maxLength: 3 }),
      upstream: fc.oneof(fc.record({ gateway: fc.constantFrom('g1', 'g2') }), fc.record({ pool: fc.constant('p1') })),
      timeouts: fc.record({ connectMs: number, requestMs: number }, { requiredKeys: [] }),
      retries: fc.record({ attempts: number, perTryTimeoutMs: number }, { requiredKeys: [] }),
      failover: fc.record({ enabled: fc.boolean(), zones: fc.uniqueArray(name, { maxLength: 2 }) }, { requiredKeys: [] }),
    },
    { requiredKeys: ['basePath', 'upstream'] },
  ),
});
const document = fc.oneof(gateway, pool, zone, api);

async function nacks(runtime: Runtime): Promise<number> {
  const values = (await runtime.metrics.configApplies.get()).values;
  return values.filter((v) => v.labels.result === 'nack').reduce((sum, v) => sum + v.value, 0);
}

/** Each run starts from an empty store, so a failing run shrinks to the writes that matter. */
async function removeEverything(base: string): Promise<void> {
  for (const plural of ['apis', 'gateway-pools', 'gateways', 'zones']) {
    const listed = await call(base, 'GET', `/v1/${plural}`);
    for (const item of listed.body.items as { metadata: { name: string } }[]) {
      const removed = await call(base, 'DELETE', `/v1/${plural}/${item.metadata.name}?force=true`);
      expect(removed.status, removed.text).toBe(200);
    }
  }
}

describe('whatever the controller accepts, a runtime with default settings applies', () => {
  let db: TestDatabase;
  let controller: Controller;
  let runtime: Runtime;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    controller = createController(
      loadControllerConfig({
        CAUSEWAY_DATABASE_URL: db.url,
        CAUSEWAY_ADMIN_TOKEN: TEST_TOKEN,
        CAUSEWAY_ADMIN_ADDR: '127.0.0.1:0',
        CAUSEWAY_XDS_ADDR: '127.0.0.1:0',
        CAUSEWAY_XDS_INSECURE: 'true',
        CAUSEWAY_LOG_LEVEL: 'silent',
      }),
      { log: silent },
    );
    await controller.start();
    base = `http://127.0.0.1:${controller.adminAddress.port}`;
    runtime = createRuntime(
      loadRuntimeConfig({
        CAUSEWAY_LISTEN_ADDR: '127.0.0.1:0',
        CAUSEWAY_RUNTIME_ADMIN_ADDR: '127.0.0.1:0',
        CAUSEWAY_CONTROLLERS: formatAddress(controller.xdsAddress),
        CAUSEWAY_ZONE: 'eu-1',
        CAUSEWAY_NODE_ID: 'property-runtime',
        CAUSEWAY_XDS_INSECURE: 'true',
      }),
      { logger: silent, shutdownGraceMs: 100 },
    );
    await runtime.start();
  });

  afterAll(async () => {
    await runtime.close();
    await controller.close();
    await db.drop();
  });

  it('never NACKs a sequence of writes the admin API accepted, and serves every accepted API', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(document, { minLength: 1, maxLength: 6 }), async (documents) => {
        await removeEverything(base);
        const nacksBefore = await nacks(runtime);
        const answers: string[] = [];
        for (const doc of documents) {
          const plural = { Gateway: 'gateways', GatewayPool: 'gateway-pools', Zone: 'zones', Api: 'apis' }[doc.kind];
          const answer = await call(base, 'PUT', `/v1/${plural}/${doc.metadata.name}`, doc);
          expect(answer.status, answer.text).toBeLessThan(500);
          answers.push(`${answer.status} ${doc.kind}/${doc.metadata.name}`);
        }
        const [state] = await controller.sql<{ revision: number }[]>`SELECT revision FROM config_state`;
        await eventually(() => expect(runtime.status().revision).toBeGreaterThanOrEqual(BigInt(state?.revision ?? 0)), { timeoutMs: 5_000 });
        expect(await nacks(runtime), answers.join('\n')).toBe(nacksBefore);
        const listed = await call(base, 'GET', '/v1/apis');
        const accepted = (listed.body.items as { metadata: { name: string } }[]).map((item) => `default/${item.metadata.name}`).sort();
        expect([...runtime.resources.api.keys()].sort()).toEqual(accepted);
      }),
      { numRuns: 150 },
    );
  });
});
