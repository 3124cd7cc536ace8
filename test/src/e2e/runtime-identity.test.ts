import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as GrpcStatus, type StatusObject } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { typeUrls } from '@causeway/shared';
import { createCertificateAuthority, type RuntimeIdentity } from '@causeway/shared/pki';
import { createOrg, expectStatus, inOrg, issueToken } from '../harness/access.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { TestPki, type ClientPair } from '../harness/pki.ts';
import { Stack, type ControllerProcess, type RuntimeProcess } from '../harness/processes.ts';
import { hello, RawStream } from '../harness/xds-raw-client.ts';

/**
 * Runtime identity end to end (issue 14): two TLS controller replicas on one database,
 * runtimes that join with tokens of two orgs or a shared one, raw clients with every
 * kind of wrong certificate. One stack for the file: the tests use different runtimes.
 */
describe('runtime identity over mTLS', () => {
  let db: TestDatabase;
  let pki: TestPki;
  let stack: Stack;
  let a: ControllerProcess;
  let b: ControllerProcess;
  let acmeStaging: RuntimeProcess;
  let shared: RuntimeProcess;

  async function joinToken(org: string | null, labels: Record<string, string> = {}): Promise<{ id: string; token: string }> {
    const created = await call(a.adminUrl, 'POST', '/v1/runtime-tokens', { zone: 'eu-1', org, labels }, inOrg(org ?? 'default'));
    expectStatus(created, 'POST /v1/runtime-tokens', 201);
    return { id: created.body.id, token: created.body.token };
  }

  async function joined(nodeId: string, token: string, controller: ControllerProcess, env: Record<string, string> = {}): Promise<RuntimeProcess> {
    return stack.runtime({ controllers: [controller.xdsAddress], nodeId, zone: 'eu-1', env: { ...pki.runtimeEnv(token), ...env } });
  }

  async function statusOf(rt: RuntimeProcess, path: string): Promise<number> {
    const response = await fetch(`${rt.proxyUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status;
  }

  async function readyz(rt: RuntimeProcess): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${rt.adminUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** Waits until the runtime answers `path` with `status` (config arrives asynchronously). */
  async function serves(rt: RuntimeProcess, path: string, status = 200): Promise<void> {
    await eventually(async () => expect(await statusOf(rt, path)).toBe(status), { timeoutMs: 15_000, message: () => stack.tails() });
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    pki = await TestPki.create();
    stack = new Stack();
    [a, b] = await Promise.all([
      stack.controller({ databaseUrl: db.url, id: 'replica-a', env: pki.controllerEnv() }),
      stack.controller({ databaseUrl: db.url, id: 'replica-b', env: pki.controllerEnv() }),
    ]);
    const upstream = await stack.upstream('gw');
    for (const org of ['acme', 'globex']) {
      await createOrg(a.adminUrl, org);
      expectStatus(await call(a.adminUrl, 'PUT', '/v1/gateways/gw', { spec: { url: upstream.url } }, inOrg(org)), `gateway of ${org}`, 201);
    }
    const api = (basePath: string, extra: Record<string, unknown> = {}) => ({ spec: { basePath, upstream: { gateway: 'gw' }, ...extra } });
    expectStatus(await call(a.adminUrl, 'PUT', '/v1/apis/orders', api('/orders'), inOrg('acme')), 'acme orders', 201);
    expectStatus(await call(a.adminUrl, 'PUT', '/v1/apis/prod-orders', api('/prod-orders', { runtimeSelector: { matchLabels: { env: 'prod' } } }), inOrg('acme')), 'acme prod-orders', 201);
    expectStatus(await call(a.adminUrl, 'PUT', '/v1/apis/billing', api('/billing'), inOrg('globex')), 'globex billing', 201);
    const [acmeToken, sharedToken] = await Promise.all([joinToken('acme', { env: 'staging' }), joinToken(null, { env: 'prod' })]);
    [acmeStaging, shared] = await Promise.all([joined('acme-staging', acmeToken.token, a), joined('shared-prod', sharedToken.token, b)]);
  });

  afterAll(async () => {
    await stack?.close();
    await db?.drop();
    await pki?.close();
  });

  describe('a client that is not a certified runtime gets no config', () => {
    const identity: RuntimeIdentity = { org: 'acme', zone: 'eu-1', nodeId: 'raw-1', labels: {} };

    async function attempt(client: ClientPair | undefined, node: { id?: string; zone?: string } = {}): Promise<{ status: StatusObject; responses: number }> {
      const stream = new RawStream(b.xdsAddress, pki.credentials(client));
      stream.send(hello(node.id ?? identity.nodeId, 'cluster', { zone: node.zone ?? identity.zone }));
      const status = await stream.status;
      stream.close();
      return { status, responses: stream.responses.length };
    }

    it('without a certificate, with one from another CA, or with an expired one: UNAUTHENTICATED', async () => {
      const other = await createCertificateAuthority('Another CA');
      const cases: [string, ClientPair | undefined][] = [
        ['no certificate', undefined],
        ['another CA', await pki.clientCertificate(identity, { signer: other })],
        ['expired', await pki.clientCertificate(identity, { lifetimeMs: -60_000 })],
      ];
      for (const [what, client] of cases) {
        const { status, responses } = await attempt(client);
        expect({ what, code: GrpcStatus[status.code], responses }).toEqual({ what, code: 'UNAUTHENTICATED', responses: 0 });
        expect(status.details).toMatch(/client certificate signed by this deployment's CA/);
      }
    });

    it('with a valid certificate that claims another node id or zone: PERMISSION_DENIED naming what differs', async () => {
      const client = await pki.clientCertificate(identity);
      const otherNode = await attempt(client, { id: 'raw-2' });
      expect(GrpcStatus[otherNode.status.code]).toBe('PERMISSION_DENIED');
      expect(otherNode.status.details).toContain('node.id "raw-2" (certificate: "raw-1")');
      const otherZone = await attempt(client, { zone: 'eu-2' });
      expect(GrpcStatus[otherZone.status.code]).toBe('PERMISSION_DENIED');
      expect(otherZone.status.details).toContain('node.zone "eu-2" (certificate: "eu-1")');
      expect(otherNode.responses + otherZone.responses).toBe(0);
      // The same certificate, claiming what it carries, streams: the refusals were about the claims.
      const honest = new RawStream(b.xdsAddress, pki.credentials(client));
      honest.send(hello('raw-1', 'cluster', { zone: 'eu-1' }));
      honest.send({ typeUrl: typeUrls.zone });
      honest.send({ typeUrl: typeUrls.api });
      const responses = await honest.responsesAtLeast(3);
      honest.close();
      const names = responses.flatMap((r) => r.resources.map((resource) => resource.name)).sort();
      expect(names).toEqual(['acme/gateway/gw', 'acme/orders']); // acme's, and only what selects no labels
    });
  });

  describe('config only where it belongs', () => {
    it('an org-bound runtime serves its org only; a shared one every org; a selector keeps an API from other labels', async () => {
      await serves(acmeStaging, '/orders/1');
      await serves(shared, '/orders/1');
      await serves(shared, '/billing/1');
      await serves(shared, '/prod-orders/1');
      expect(await statusOf(acmeStaging, '/billing/1')).toBe(404); // globex's
      expect(await statusOf(acmeStaging, '/prod-orders/1')).toBe(404); // selects env=prod; this runtime is env=staging
      const dump = await (await fetch(`${acmeStaging.adminUrl}/config`)).text();
      expect(dump).not.toContain('globex');
      expect(dump).not.toContain('prod-orders');
    });

    it('deployment status counts only the runtimes an API targets', async () => {
      const nodes = async (org: string, name: string) => {
        const status = expectStatus(await call(a.adminUrl, 'GET', `/v1/apis/${name}/status`, undefined, inOrg(org)), `${name} status`, 200);
        return status.body.runtimes.map((r: { nodeId: string }) => r.nodeId).sort();
      };
      await eventually(async () => expect(await nodes('acme', 'orders')).toEqual(['acme-staging', 'shared-prod']));
      expect(await nodes('acme', 'prod-orders')).toEqual(['shared-prod']);
      expect(await nodes('globex', 'billing')).toEqual(['shared-prod']);
      // ?wait converges on the runtimes the API targets: it does not wait for the staging one.
      const spec = { basePath: '/prod-orders', upstream: { gateway: 'gw' }, runtimeSelector: { matchLabels: { env: 'prod' } }, timeouts: { requestMs: 20_000 } };
      const waited = expectStatus(await call(a.adminUrl, 'PUT', '/v1/apis/prod-orders?wait=10s', { spec }, inOrg('acme')), 'wait', 200);
      expect(waited.body.status.deployment).toMatchObject({ outcome: 'converged', status: { summary: { total: 1, acked: 1, nacked: 0, pending: 0 } } });
    });

    it('route conflicts count only among APIs that can meet on one runtime', async () => {
      const put = (org: string, name: string, selector: Record<string, string>, extra: Record<string, unknown> = {}) =>
        call(a.adminUrl, 'PUT', `/v1/apis/${name}`, { spec: { basePath: '/same', upstream: { gateway: 'gw' }, runtimeSelector: { matchLabels: selector }, ...extra } }, inOrg(org));
      // env=prod and env=staging never meet: both may take /same.
      expectStatus(await put('acme', 'same-prod', { env: 'prod' }, { stripBasePath: false }), 'same-prod', 201);
      expectStatus(await put('acme', 'same-staging', { env: 'staging' }), 'same-staging', 201);
      // Every runtime, or one labelled env=prod and tier=web, would meet one of them; so would a shared runtime serving another org.
      expect((await put('acme', 'same-all', {})).status).toBe(409);
      expect((await put('acme', 'same-web', { tier: 'web' })).status).toBe(409);
      expect((await put('globex', 'same-prod', { env: 'prod' })).status).toBe(409);
      // Each runtime serves the one its labels select.
      const path = async (rt: RuntimeProcess) => ((await (await fetch(`${rt.proxyUrl}/same/1`)).json()) as { path: string }).path;
      await eventually(async () => expect(await path(shared)).toBe('/same/1'), { message: () => stack.tails() });
      await eventually(async () => expect(await path(acmeStaging)).toBe('/1'), { message: () => stack.tails() });
    });

    it('GET /v1/runtimes shows an org the runtimes that serve it, with their certified identity', async () => {
      const viewer = await issueToken(a.adminUrl, 'globex', 'globex-viewer', 'viewer');
      const listed = expectStatus(await call(b.adminUrl, 'GET', '/v1/runtimes', undefined, { token: viewer.secret }), 'runtimes', 200);
      expect(listed.body.items.map((r: { nodeId: string }) => r.nodeId)).toEqual(['shared-prod']);
      expect(listed.body.items[0]).toMatchObject({ org: null, zone: 'eu-1', labels: { env: 'prod' }, identity: 'certificate', certificate: { serial: expect.any(String) } });
    });
  });

  describe('revocation', () => {
    it('revoked on replica a, the stream on replica b ends within 1 s; the runtime keeps serving and cannot come back', async () => {
      const token = await joinToken('acme');
      const cacheDir = await mkdtemp(join(tmpdir(), 'causeway-revoked-'));
      try {
        const rt = await joined('to-revoke', token.token, b, { CAUSEWAY_CACHE_DIR: cacheDir });
        await serves(rt, '/orders/1');
        const revoked = await call(a.adminUrl, 'POST', '/v1/runtimes/to-revoke/revoke', undefined, inOrg('acme'));
        const answered = performance.now();
        expectStatus(revoked, 'revoke', 201);
        const elapsed = await eventually(async () => {
          expect((await readyz(rt)).body.access).toBe('revoked');
          return performance.now() - answered;
        }, { intervalMs: 5, timeoutMs: 5_000, message: () => stack.tails() });
        expect(elapsed).toBeLessThan(1_000);
        const ready = await readyz(rt);
        expect(ready).toMatchObject({ status: 200, body: { status: 'ready', connected: false, accessDetail: expect.stringContaining('was revoked') } });
        expect(await statusOf(rt, '/orders/1')).toBe(200); // its last config

        // Its certificate (kept in its cache directory) is refused by both replicas.
        const held: ClientPair = { cert: await readFile(join(cacheDir, 'runtime-identity.crt'), 'utf8'), key: await readFile(join(cacheDir, 'runtime-identity.key'), 'utf8') };
        for (const replica of [a, b]) {
          const again = new RawStream(replica.xdsAddress, pki.credentials(held));
          again.send(hello('to-revoke', 'cluster', { zone: 'eu-1' }));
          const status = await again.status;
          again.close();
          expect(GrpcStatus[status.code]).toBe('PERMISSION_DENIED');
          expect(status.details).toContain('was revoked');
        }
        // Nor can it join again with a fresh key and its token.
        await rt.stop();
        const rejoined = await joined('to-revoke', token.token, a);
        const refused = await eventually(async () => {
          const answer = await readyz(rejoined);
          expect(answer.body.accessDetail).toMatch(/was revoked/);
          return answer;
        }, { timeoutMs: 10_000, message: () => rejoined.tail() });
        expect(refused.status).toBe(503);
        expect(refused.body.certificate).toBeUndefined();
      } finally {
        await rm(cacheDir, { recursive: true, force: true });
      }
    });
  });
});
