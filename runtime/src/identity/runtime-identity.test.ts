import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { request } from 'undici';
import { ConfigError, formatAddress } from '@causeway/shared';
import {
  createCertificateAuthority,
  createSigningRequest,
  generateKeyPair,
  identityUris,
  issueServerCertificate,
  privateKeyPem,
  signClientCertificate,
  type KeyedCertificate,
  type RuntimeIdentity,
} from '@causeway/shared/pki';
import type { Runtime, RuntimeOverrides } from '../runtime.ts';
import { FakeController, type FakeStream, type FakeTls } from '../testing/fake-controller.ts';
import { api, cluster, response } from '../testing/resources.ts';
import { metricValue, RuntimeHarness, type EchoUpstream } from '../testing/runtime-harness.ts';

let h: RuntimeHarness;
let ca: KeyedCertificate;
let server: KeyedCertificate;
let dir: string;
const token = 'cwj_test-join-token';
const joined = { org: 'acme', zone: 'eu-1', labels: { env: 'prod' } } as const;
const fast: RuntimeOverrides = { connectToControllers: true, backoff: { initialMs: 20, maxMs: 200 }, establishAfterMs: 50, certificatePollMs: 50 };

beforeAll(async () => {
  ca = await createCertificateAuthority('Causeway test CA');
  server = await issueServerCertificate(ca, ['localhost', '127.0.0.1']);
});

beforeEach(async () => {
  h = new RuntimeHarness();
  dir = await mkdtemp(join(tmpdir(), 'causeway-identity-'));
  await writeFile(join(dir, 'ca.crt'), ca.certificatePem);
});

afterEach(async () => {
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

async function fakeController(lifetimeMs = 3_600_000): Promise<FakeController> {
  const tls: FakeTls = { ca, server, tokens: new Map([[token, joined]]), lifetimeMs };
  const fake = await FakeController.start(0, tls);
  onTestFinished(() => fake.close());
  return fake;
}

function joining(fake: FakeController, extra: Record<string, string> = {}): Record<string, string> {
  return { CAUSEWAY_CONTROLLERS: fake.address, CAUSEWAY_CA_CERT: join(dir, 'ca.crt'), CAUSEWAY_RUNTIME_TOKEN: token, CAUSEWAY_NODE_ID: 'rt-1', ...extra };
}

/** Answers a stream's three subscriptions: the API and its cluster, or nothing new. */
async function answer(stream: FakeStream, revision: number, upstream?: EchoUpstream): Promise<readonly unknown[]> {
  const requests = [await stream.next(), await stream.next(), await stream.next()];
  const clusters = upstream === undefined ? {} : { 'acme/pool/main': cluster('acme/pool/main', [{ name: 'gw-1', url: upstream.url, zone: 'eu-1' }]) };
  const apis = upstream === undefined ? {} : { 'acme/orders': api('acme/orders', { basePath: '/orders' }) };
  stream.send(response('cluster', revision, clusters));
  stream.send(response('zone', revision, {}));
  stream.send(response('api', revision, apis));
  return requests;
}

async function readyz(rt: Runtime): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`http://${formatAddress(rt.adminAddress)}/readyz`, { dispatcher: h.agent });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

async function clientCertificate(identity: RuntimeIdentity, signer = ca): Promise<{ cert: string; key: string }> {
  const keys = await generateKeyPair();
  const issued = await signClientCertificate(signer, await createSigningRequest(keys, identity.nodeId), `CN=${identity.nodeId}`, identityUris(identity), 3_600_000);
  if (issued === undefined) throw new Error('not signed');
  return { cert: issued.certificatePem, key: await privateKeyPem(keys.privateKey) };
}

describe('joining with a token', () => {
  it('gets a certificate for its own key and streams config over mTLS as the identity it carries', async () => {
    const fake = await fakeController(86_400_000);
    const upstream = await h.echo('gw-1');
    const rt = await h.runtime(joining(fake, { CAUSEWAY_NODE_LABELS: 'env=claimed' }), fast);
    const stream = await fake.nextStream();
    expect(fake.issued).toEqual([{ renewal: false, identity: { ...joined, nodeId: 'rt-1' }, notAfter: expect.any(Date) }]);
    expect(stream.peer).toEqual({ ...joined, nodeId: 'rt-1' });
    const [first] = (await answer(stream, 1, upstream)) as [{ node?: { labels: Record<string, string> } }];
    expect(first.node?.labels).toEqual({ env: 'prod' }); // the certificate's labels, not CAUSEWAY_NODE_LABELS
    await vi.waitFor(() => expect(rt.status().connected).toBe(true));
    expect((await h.call(rt, '/orders/1')).status).toBe(200);
    const ready = await readyz(rt);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ready',
      security: 'token',
      certificate: { spiffeId: 'spiffe://causeway/org/acme/zone/eu-1/runtime/rt-1' },
      warnings: [expect.stringMatching(/^the client certificate expires at /)], // a day: within 7 days
    });
    const expiry = Date.parse(String((ready.body.certificate as { expiresAt: string }).expiresAt)) / 1000;
    expect(await metricValue(rt, 'certificateExpiry', { certificate: 'client' })).toBeCloseTo(expiry, 0);
  });

  it('is refused by a controller whose certificate another CA signed, and is not ready', async () => {
    const fake = await fakeController();
    const other = await createCertificateAuthority('Another CA');
    await writeFile(join(dir, 'ca.crt'), other.certificatePem);
    const rt = await h.runtime(joining(fake), fast);
    await vi.waitFor(async () => expect((await readyz(rt)).body.lastError).toMatch(/UNAVAILABLE/), { timeout: 5_000 });
    const ready = await readyz(rt);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not_ready', connected: false, security: 'token' });
    expect(fake.issued).toEqual([]);
    expect(fake.opened).toEqual([]);
  });

  it('keeps its key and certificate in the cache directory (0600) and comes back without a valid token', async () => {
    const fake = await fakeController();
    const cacheDir = join(dir, 'cache');
    const first = await h.runtime(joining(fake, { CAUSEWAY_CACHE_DIR: cacheDir }), fast);
    await answer(await fake.nextStream(), 1);
    await vi.waitFor(() => expect(first.status().connected).toBe(true));
    await vi.waitFor(async () => expect((await stat(join(cacheDir, 'runtime-identity.crt'))).mode & 0o777).toBe(0o600));
    expect((await stat(join(cacheDir, 'runtime-identity.key'))).mode & 0o777).toBe(0o600);
    await first.close();

    const second = await h.runtime(joining(fake, { CAUSEWAY_CACHE_DIR: cacheDir, CAUSEWAY_RUNTIME_TOKEN: 'cwj_expired-or-deleted' }), fast);
    const stream = await fake.nextStream();
    expect(stream.peer?.nodeId).toBe('rt-1');
    await answer(stream, 1);
    await vi.waitFor(() => expect(second.status().connected).toBe(true));
    expect(fake.issued).toHaveLength(1); // the first runtime's only
  });
});

describe('renewal', () => {
  it('renews at two thirds of the lifetime over mTLS and moves the stream without a failed request', async () => {
    const lifetimeMs = 3_000;
    const fake = await fakeController(lifetimeMs);
    const upstream = await h.echo('gw-1');
    const rt = await h.runtime(joining(fake), fast);
    const first = await fake.nextStream();
    await answer(first, 1, upstream);
    await vi.waitFor(() => expect(rt.status().connected).toBe(true));

    let failed = 0;
    let requests = 0;
    let disconnected = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        const res = await h.call(rt, '/orders/1');
        requests++;
        if (res.status !== 200) failed++;
        if (!rt.status().connected) disconnected++;
      }
    })();
    for (let renewal = 1; renewal <= 2; renewal++) {
      const next = await fake.nextStream();
      const [subscription] = (await answer(next, 1)) as [{ initialResourceVersions: Record<string, string> }];
      expect(subscription.initialResourceVersions).toEqual({ 'acme/pool/main': '1' }); // a delta from what it holds
      await vi.waitFor(() => expect(fake.opened.filter((s) => s.call.cancelled)).toHaveLength(renewal)); // the old stream closed
    }
    running = false;
    await traffic;
    expect(fake.issued.map((i) => i.renewal)).toEqual([false, true, true]);
    expect(requests).toBeGreaterThan(50);
    expect(failed).toBe(0);
    expect(disconnected).toBe(0);
  });
});

describe('revocation', () => {
  it('keeps serving the last config, says revoked in /readyz, and does not reconnect in a tight loop', async () => {
    const fake = await fakeController();
    const upstream = await h.echo('gw-1');
    const rt = await h.runtime(joining(fake), { ...fast, refusedRetryMs: 1_500 });
    await answer(await fake.nextStream(), 1, upstream);
    await vi.waitFor(() => expect(rt.status().connected).toBe(true));
    fake.deny('rt-1', 'runtime rt-1 was revoked');
    await vi.waitFor(async () => expect((await readyz(rt)).body.access).toBe('revoked'));
    const ready = await readyz(rt);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', connected: false, accessDetail: 'runtime rt-1 was revoked' });
    expect((await h.call(rt, '/orders/1')).status).toBe(200);
    const opened = fake.opened.length;
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a window, not a wait for an event: nothing must happen in it
    expect(fake.opened.length).toBe(opened);
    await vi.waitFor(() => expect(fake.opened.length).toBe(opened + 1), { timeout: 3_000 }); // one attempt after the long wait
    expect((await readyz(rt)).body.access).toBe('revoked');
  });
});

describe('certificate files', () => {
  function files(fake: FakeController): Record<string, string> {
    return {
      CAUSEWAY_CONTROLLERS: fake.address,
      CAUSEWAY_CA_CERT: join(dir, 'ca.crt'),
      CAUSEWAY_TLS_CERT: join(dir, 'rt.crt'),
      CAUSEWAY_TLS_KEY: join(dir, 'rt.key'),
      CAUSEWAY_NODE_ID: 'rt-1',
    };
  }

  async function writePair(identity: RuntimeIdentity): Promise<void> {
    const { cert, key } = await clientCertificate(identity);
    await writeFile(join(dir, 'rt.key'), key);
    await writeFile(join(dir, 'rt.crt'), cert);
  }

  it('streams with the files and moves to new ones when they change', async () => {
    const fake = await fakeController();
    await writePair({ ...joined, nodeId: 'rt-1', labels: { env: 'blue' } });
    const rt = await h.runtime(files(fake), fast);
    const first = await fake.nextStream();
    expect(first.peer?.labels).toEqual({ env: 'blue' });
    await answer(first, 1);
    await vi.waitFor(() => expect(rt.status().connected).toBe(true));
    expect((await readyz(rt)).body).toMatchObject({ security: 'files', certificate: { expiresAt: expect.any(String) } });

    await writePair({ ...joined, nodeId: 'rt-1', labels: { env: 'green' } });
    const second = await fake.nextStream();
    expect(second.peer?.labels).toEqual({ env: 'green' });
    await answer(second, 1);
    await vi.waitFor(() => expect(first.call.cancelled).toBe(true));
    expect(rt.status().connected).toBe(true);
    expect(fake.issued).toEqual([]);
  });

  it('refuses to start with a certificate made for another node', async () => {
    const fake = await fakeController();
    await writePair({ ...joined, nodeId: 'rt-2' });
    const started = h.runtime(files(fake), fast);
    await expect(started).rejects.toThrow(ConfigError);
    await expect(started).rejects.toThrow('CAUSEWAY_TLS_CERT');
  });
});
