import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { portsOutsideEphemeralRange } from '../harness/ports.ts';

const cli = fileURLToPath(new URL('../../../controller/src/cli/main.ts', import.meta.url));

function printed(lines: readonly string[], pattern: RegExp): string {
  for (const line of lines) {
    const match = pattern.exec(line);
    if (match?.[1] !== undefined) return match[1];
  }
  throw new Error(`no line matches ${String(pattern)}`);
}

/** What `npm start` runs: the whole stack, a sample API answering, and a clean stop on Ctrl-C. */
describe('causeway dev', () => {
  let db: TestDatabase | undefined;
  let devDir = '';

  afterEach(async () => {
    await db?.drop();
    db = undefined;
    await rm(devDir, { recursive: true, force: true });
  });

  it('starts everything, prints where it is, serves the sample API and stops cleanly on SIGINT', async () => {
    db = await createTestDatabase();
    devDir = await mkdtemp(join(tmpdir(), 'causeway-dev-test-'));
    const [admin, xds, proxy, runtimeAdmin] = await portsOutsideEphemeralRange(4);
    const child = spawn(process.execPath, [cli, 'dev'], {
      env: {
        ...process.env,
        CAUSEWAY_DATABASE_URL: db.url,
        CAUSEWAY_ADMIN_TOKEN: 'dev-stack-token-0123456789',
        CAUSEWAY_ADMIN_ADDR: `127.0.0.1:${admin}`,
        CAUSEWAY_XDS_ADDR: `127.0.0.1:${xds}`,
        CAUSEWAY_LISTEN_ADDR: `127.0.0.1:${proxy}`,
        CAUSEWAY_RUNTIME_ADMIN_ADDR: `127.0.0.1:${runtimeAdmin}`,
        CAUSEWAY_DEV_SAMPLE_PORT: '0',
        CAUSEWAY_DEV_DATA_DIR: join(devDir, 'data'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (l) => lines.push(l));
    try {
      await eventually(() => expect(lines).toContain('Press Ctrl-C to stop everything.'), { timeoutMs: 45_000, message: () => lines.join('\n') });
      const printed = lines.join('\n');
      expect(printed).toContain(`proxy (API traffic)   http://127.0.0.1:${proxy}`);
      expect(printed).toContain('admin token           dev-stack-token-0123456789');
      // The console URL it prints opens the console (issue 17).
      expect(printed).toContain(`console               http://127.0.0.1:${admin}/console/`);
      const consolePage = await fetch(`http://127.0.0.1:${admin}/console/`);
      expect(await consolePage.text()).toContain('<div id="app"></div>');
      const hello = await call(`http://127.0.0.1:${proxy}`, 'GET', '/hello/', undefined, { token: null });
      expect(hello.status).toBe(200);
      expect(['sample-a', 'sample-b']).toContain(hello.body.upstream);
      const apis = await call(`http://127.0.0.1:${admin}`, 'GET', '/v1/apis', undefined, { token: 'dev-stack-token-0123456789' });
      expect(apis.body.items.map((a: { metadata: { name: string } }) => a.metadata.name)).toEqual(['hello']);
      // The runtime joined with a token and streams over mTLS with the certificate it got.
      const readyz = await call(`http://127.0.0.1:${runtimeAdmin}`, 'GET', '/readyz', undefined, { token: null });
      expect(readyz.body).toMatchObject({ status: 'ready', connected: true, security: 'token', certificate: { spiffeId: 'spiffe://causeway/shared/zone/default/runtime/dev-runtime' } });
      const runtimes = await call(`http://127.0.0.1:${admin}`, 'GET', '/v1/runtimes', undefined, { token: 'dev-stack-token-0123456789' });
      expect(runtimes.body.items).toEqual([expect.objectContaining({ nodeId: 'dev-runtime', identity: 'certificate', connected: true })]);
      const controllerReady = await call(`http://127.0.0.1:${admin}`, 'GET', '/readyz', undefined, { token: null });
      expect(controllerReady.body.configStream).toEqual({ tls: true });
      // The stack's CA is kept beside its data, for the next start.
      expect(printed).toContain(`(mTLS; CA ${join(devDir, 'certs', 'ca.crt')})`);
    } finally {
      // A stack that failed to start has exited already: then there is nothing to wait for.
      const exited = child.exitCode !== null || child.signalCode !== null ? [child.exitCode] : undefined;
      child.kill('SIGINT');
      const [code] = exited ?? ((await once(child, 'exit')) as [number | null]);
      expect(code, lines.join('\n')).toBe(0);
    }
    // Nothing is left listening.
    await expect(fetch(`http://127.0.0.1:${proxy}/hello/`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${admin}/healthz`)).rejects.toThrow();
    for (const url of printed(lines, /sample upstreams\s+(.*)$/).split(', ')) await expect(fetch(url)).rejects.toThrow();
  });

  it('refuses to start, naming the setting, when its admin address or a sample port is taken (a second stack would talk to the first one)', async () => {
    const [admin, xds, proxy, runtimeAdmin, sample] = await portsOutsideEphemeralRange(5);
    for (const [taken, setting] of [[admin, 'CAUSEWAY_ADMIN_ADDR'], [sample, 'CAUSEWAY_DEV_SAMPLE_PORT']] as const) {
      const other = createServer((_req, res) => res.end('{"status":"ready"}'));
      await new Promise<void>((resolve) => other.listen(taken, '127.0.0.1', resolve));
      try {
        const child = spawn(process.execPath, [cli, 'dev'], {
          env: {
            ...process.env,
            CAUSEWAY_DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
            CAUSEWAY_ADMIN_ADDR: `127.0.0.1:${admin}`,
            CAUSEWAY_XDS_ADDR: `127.0.0.1:${xds}`,
            CAUSEWAY_LISTEN_ADDR: `127.0.0.1:${proxy}`,
            CAUSEWAY_RUNTIME_ADMIN_ADDR: `127.0.0.1:${runtimeAdmin}`,
            CAUSEWAY_DEV_SAMPLE_PORT: String(sample),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const [code] = (await once(child, 'exit')) as [number | null];
        expect(code).not.toBe(0);
        expect(stderr).toContain(`${setting}: 127.0.0.1:${taken} is in use`);
      } finally {
        await new Promise((resolve) => other.close(resolve));
      }
    }
  });

});
