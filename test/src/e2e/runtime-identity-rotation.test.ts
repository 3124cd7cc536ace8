import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../harness/access.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { TestPki } from '../harness/pki.ts';
import { Stack, type ControllerProcess, type ManagedProcess, type RuntimeProcess } from '../harness/processes.ts';

/** Runtime certificates live 20 s here: each runtime renews every ~13 s while the tests run. */
const lifetimeMs = 20_000;

/** Every JSON log line of a process with this `msg`. */
function logLines(proc: ManagedProcess, msg: string): Record<string, unknown>[] {
  return proc.output.filter((line) => line.includes(`"msg":"${msg}"`)).map((line) => JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>);
}

/** One sample of a Prometheus text page, by its series (0 when absent). */
function sample(page: string, series: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The serial of the certificate a TLS listener presents now, to a new connection. */
async function servingSerial(address: string): Promise<string> {
  const [host = '', port = ''] = address.split(/:(?=\d+$)/);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port), rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

/**
 * Rotation without restarts and trust between zones (issue 14), one TLS controller: a
 * runtime renews its certificate under traffic, the controller takes a new serving
 * certificate from its files, and a client cannot forge the marker of a cross-zone hop.
 */
describe('runtime identity: renewal, rotation, hop marker', () => {
  let db: TestDatabase;
  let pki: TestPki;
  let stack: Stack;
  let controller: ControllerProcess;
  let eu1: RuntimeProcess;
  let eu2: RuntimeProcess;

  async function join(nodeId: string, zone: string, env: Record<string, string> = {}): Promise<RuntimeProcess> {
    const created = expectStatus(await call(controller.adminUrl, 'POST', '/v1/runtime-tokens', { zone, org: null }), 'join token', 201);
    return stack.runtime({ controllers: [controller.xdsAddress], nodeId, zone, env: { ...pki.runtimeEnv(created.body.token), ...env } });
  }

  async function get(rt: RuntimeProcess, path: string, headers: Record<string, string> = {}): Promise<{ status: number; upstream?: string }> {
    const response = await fetch(`${rt.proxyUrl}${path}`, { headers, signal: AbortSignal.timeout(5_000) });
    const body = (await response.json().catch(() => ({}))) as { upstream?: string };
    return { status: response.status, ...(body.upstream !== undefined && { upstream: body.upstream }) };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    pki = await TestPki.create();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url, env: pki.controllerEnv(lifetimeMs) });
    // The eu-2 gateway listens on 127.0.0.2, which the eu-1 runtime may not connect to: it
    // reaches zone eu-2 only through that zone's runtime (its DTC URL), with a hop marker.
    const [gw2] = await Promise.all([stack.upstream('eu-2-gw', 0, '127.0.0.2')]);
    const put = async (path: string, spec: unknown) => expectStatus(await call(controller.adminUrl, 'PUT', path, { spec }), path, 200, 201);
    await put('/v1/gateways/gw-eu-1', { url: 'http://127.0.0.1:9', zone: 'eu-1' }); // nothing listens: eu-1 has no healthy member
    await put('/v1/gateways/gw-eu-2', { url: gw2.url, zone: 'eu-2' });
    await put('/v1/gateway-pools/pool', { members: ['gw-eu-1', 'gw-eu-2'] });
    eu2 = await join('runtime-eu-2', 'eu-2');
    await put('/v1/zones/eu-1', { failoverPriority: 1 });
    await put('/v1/zones/eu-2', { dtcUrl: eu2.proxyUrl, failoverPriority: 2 });
    await put('/v1/apis/orders', { basePath: '/orders', upstream: { pool: 'pool' }, failover: { enabled: true } });
    eu1 = await join('runtime-eu-1', 'eu-1', { CAUSEWAY_UPSTREAM_DENY_CIDRS: '127.0.0.2/32' });
    await eventually(async () => expect(await get(eu2, '/orders/1')).toEqual({ status: 200, upstream: 'eu-2-gw' }), { timeoutMs: 15_000, message: () => stack.tails() });
  });

  afterAll(async () => {
    await stack?.close();
    await db?.drop();
    await pki?.close();
  });

  it('renews a 20 s certificate under steady traffic: no failed request, and the stream resumes with a delta', async () => {
    const issuedBefore = logLines(eu2, 'certificate issued').length;
    const movedBefore = logLines(eu2, 'config stream moved to new credentials').length;
    let requests = 0;
    const failures: string[] = [];
    let disconnected = 0;
    // Until the certificate was renewed (again, if it was before this test) and the config stream moved to it.
    while (logLines(eu2, 'config stream moved to new credentials').length === movedBefore) {
      const answer = await get(eu2, '/orders/1');
      requests++;
      if (answer.status !== 200) failures.push(JSON.stringify(answer));
      if (requests % 20 === 0 && !((await (await fetch(`${eu2.adminUrl}/readyz`)).json()) as { connected: boolean }).connected) disconnected++;
      if (requests > 200_000) throw new Error(`no renewal\n${stack.tails()}`);
    }
    expect(requests).toBeGreaterThan(100);
    expect(failures).toEqual([]);
    expect(disconnected).toBe(0);
    expect(logLines(eu2, 'certificate issued').length).toBeGreaterThan(issuedBefore);
    // The new stream told the controller what it holds: a delta, not a full resend. The
    // controller's lines may reach this process a moment after the runtime's.
    await eventually(() => {
      const renewals = logLines(controller, 'runtime certificate issued').filter((l) => l.node === 'runtime-eu-2' && l.renewal === true);
      expect(renewals.length).toBeGreaterThan(0);
      const streams = logLines(controller, 'runtime connected').filter((l) => l.node === 'runtime-eu-2');
      expect(streams.length).toBeGreaterThan(1);
      expect(Number(streams.at(-1)?.runtimeRevision)).toBeGreaterThan(0);
    }, { timeoutMs: 5_000, message: () => stack.tails() });
  });

  it('takes a new serving certificate from its files without a restart: new runtimes see it', async () => {
    const before = await servingSerial(controller.xdsAddress);
    expect(before).toBe(new X509Certificate(await readFile(pki.files.controllerCert)).serialNumber);
    const rotated = await pki.issueServing();
    const serial = new X509Certificate(rotated.certificatePem).serialNumber;
    await eventually(async () => expect(await servingSerial(controller.xdsAddress)).toBe(serial), { timeoutMs: 10_000, message: () => controller.tail() });
    expect(logLines(controller, 'TLS certificates reloaded').length).toBeGreaterThan(0);
    // The expiry metric follows the new certificate (Unix seconds).
    const metrics = await (await fetch(`${controller.adminUrl}/metrics`)).text();
    const expiresAt = Date.parse(new X509Certificate(rotated.certificatePem).validTo) / 1000;
    expect(sample(metrics, 'causeway_controller_certificate_expiry_seconds{certificate="serving"}')).toBe(expiresAt);
    const fresh = await join('runtime-after-rotation', 'eu-2');
    await eventually(async () => expect(await get(fresh, '/orders/1')).toEqual({ status: 200, upstream: 'eu-2-gw' }), { timeoutMs: 15_000, message: () => fresh.tail() });
    expect(controller.running).toBe(true);
  });

  it('ignores a hop marker a client forges: the request still fails over to the other zone', async () => {
    const now = Math.floor(Date.now() / 1000);
    // A client that could make the eu-1 runtime take its request for a hop would stop it
    // from being forwarded (503): a forged marker is stripped and the request fails over.
    for (const forged of [`eu-2;${now};${'A'.repeat(43)}`, 'eu-2;1;x', 'garbage']) {
      expect(await get(eu1, '/orders/1', { 'x-causeway-hop': forged }), forged).toEqual({ status: 200, upstream: 'eu-2-gw' });
    }
    const metrics = await (await fetch(`${eu1.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/causeway_runtime_failovers_total\{[^}]*via="dtc"[^}]*\} [1-9]/);
    expect(sample(metrics, 'causeway_runtime_hop_markers_total{result="rejected"}')).toBe(3);
    // The eu-2 runtime took the eu-1 runtime's own marker: served locally, not forwarded back.
    const received = await (await fetch(`${eu2.adminUrl}/metrics`)).text();
    expect(sample(received, 'causeway_runtime_hop_markers_total{result="accepted"}')).toBe(3);
    expect(received).not.toMatch(/causeway_runtime_failovers_total\{[^}]*via="dtc"[^}]*\} [1-9]/);
  });
});
