import { randomBytes } from 'node:crypto';
import { mkdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { EnvReader, formatAddress, type Env } from '@causeway/shared';
import { AdminClient } from './admin-client.ts';
import { writeCertificates } from './certs-command.ts';
import { assertAddressesFree, startChild, waitForHttp, type Child } from './children.ts';
import type { Output } from './output.ts';
import { runtimeMain } from './runtime-entry.ts';

const controllerMain = fileURLToPath(new URL('../main.ts', import.meta.url));
const sampleUpstream = fileURLToPath(new URL('./sample-upstream.ts', import.meta.url));
const devDatabase = fileURLToPath(new URL('./dev-database.ts', import.meta.url));

async function waitForReadyLine(child: Child, lines: string[], timeoutMs: number): Promise<{ url: string; dataDir: string; port: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of lines) {
      if (line.includes('"database ready"')) return JSON.parse(line.slice(line.indexOf('{'))) as { url: string; dataDir: string; port: number };
    }
    if (child.process.exitCode !== null) throw new Error(`the embedded PostgreSQL did not start:\n${lines.join('\n')}`);
    await sleep(50);
  }
  throw new Error(`the embedded PostgreSQL did not start within ${timeoutMs} ms`);
}

export interface DevStack {
  stop(): Promise<void>;
}

function sampleDocuments(upstreams: readonly { name: string; url: string }[]) {
  return [
    ...upstreams.map((u) => ({ kind: 'Gateway', metadata: { name: u.name }, spec: { url: u.url, zone: 'default' } })),
    { kind: 'GatewayPool', metadata: { name: 'samples' }, spec: { members: upstreams.map((u) => u.name), description: 'Sample upstream gateways started by causeway dev' } },
    { kind: 'Api', metadata: { name: 'hello' }, spec: { basePath: '/hello', upstream: { pool: 'samples' } } },
  ];
}

/** The port a sample upstream reports it listens on. */
async function listeningPort(child: Child, lines: readonly string[]): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited with code ${child.process.exitCode}`);
    for (const line of lines) {
      const match = /"msg":"sample upstream listening".*"port":(\d+)/.exec(line);
      if (match !== null) return Number(match[1]);
    }
    await sleep(50);
  }
  throw new Error(`${child.name} did not say which port it listens on within 10 s`);
}

/**
 * `causeway dev`: Postgres (embedded unless CAUSEWAY_DATABASE_URL is set), a controller,
 * a runtime, two sample upstream gateways and a sample API, each its own process.
 */
export async function startDevStack(env: Env, io: Output): Promise<DevStack> {
  const r = new EnvReader(env);
  const adminAddress = r.address('CAUSEWAY_ADMIN_ADDR', '127.0.0.1:9080');
  const xdsAddress = r.address('CAUSEWAY_XDS_ADDR', '127.0.0.1:9090');
  const proxyAddress = r.address('CAUSEWAY_LISTEN_ADDR', '127.0.0.1:8080');
  const runtimeAdminAddress = r.address('CAUSEWAY_RUNTIME_ADMIN_ADDR', '127.0.0.1:9901');
  // 0: each sample upstream on a port the system picks (read back from its log line).
  const firstSamplePort = r.integer('CAUSEWAY_DEV_SAMPLE_PORT', 9701, 0, 65534);
  const samplePorts = firstSamplePort === 0 ? [0, 0] : [firstSamplePort, firstSamplePort + 1];
  const logLevel = r.string('CAUSEWAY_LOG_LEVEL', 'warn');
  const dataDir = r.string('CAUSEWAY_DEV_DATA_DIR', join(tmpdir(), 'causeway-dev', 'data'));
  const token = r.optional('CAUSEWAY_ADMIN_TOKEN') ?? randomBytes(18).toString('base64url');
  const zone = r.string('CAUSEWAY_ZONE', 'default');
  r.done();
  await assertAddressesFree({
    CAUSEWAY_ADMIN_ADDR: adminAddress,
    CAUSEWAY_XDS_ADDR: xdsAddress,
    CAUSEWAY_LISTEN_ADDR: proxyAddress,
    CAUSEWAY_RUNTIME_ADMIN_ADDR: runtimeAdminAddress,
    ...Object.fromEntries(samplePorts.map((port, i) => [i === 0 ? 'CAUSEWAY_DEV_SAMPLE_PORT' : `CAUSEWAY_DEV_SAMPLE_PORT (+${i})`, { host: '127.0.0.1', port }])),
  });
  // The stack's CA lives beside the database files and is reused by the next start, so
  // that a runtime certificate kept in a cache stays valid; the serving certificate is
  // made anew for the address runtimes dial.
  const certsDir = join(dataDir, '..', 'certs');
  const xdsHost = xdsAddress.host;
  const hosts = ['localhost', '127.0.0.1', '::1', ...(['0.0.0.0', '::', 'localhost', '127.0.0.1', '::1'].includes(xdsHost) ? [] : [xdsHost])];

  const children: Child[] = [];
  let database: Child | undefined;
  let embedded: { url: string; dataDir: string; port: number } | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all(children.reverse().map((c) => c.stop()));
    await database?.stop();
  };
  try {
    let databaseUrl = env.CAUSEWAY_DATABASE_URL;
    if (databaseUrl === undefined || databaseUrl === '') {
      await mkdir(join(dataDir, '..'), { recursive: true });
      await chmod(join(dataDir, '..'), 0o755);
      const lines: string[] = [];
      database = startChild('postgres', devDatabase, [dataDir], { ...env }, (line) => lines.push(line), { detached: true });
      embedded = await waitForReadyLine(database, lines, 60_000);
      databaseUrl = embedded.url;
    }
    const base = { ...env, CAUSEWAY_LOG_LEVEL: logLevel };
    const { paths } = await writeCertificates(certsDir, hosts);
    const controller = startChild('controller', controllerMain, [], {
      ...base,
      CAUSEWAY_DATABASE_URL: databaseUrl,
      CAUSEWAY_ADMIN_TOKEN: token,
      CAUSEWAY_ADMIN_ADDR: formatAddress(adminAddress),
      CAUSEWAY_XDS_ADDR: formatAddress(xdsAddress),
      CAUSEWAY_XDS_TLS_CERT: paths.controllerCert,
      CAUSEWAY_XDS_TLS_KEY: paths.controllerKey,
      CAUSEWAY_CA_CERT: paths.caCert,
      CAUSEWAY_CA_KEY: paths.caKey,
    }, io.err);
    children.push(controller);
    const adminUrl = `http://${formatAddress(adminAddress)}`;
    await waitForHttp(`${adminUrl}/readyz`, controller, 30_000);

    const upstreams: { name: string; url: string }[] = [];
    for (const [i, port] of samplePorts.entries()) {
      const name = `sample-${String.fromCharCode(97 + i)}`;
      const lines: string[] = [];
      const child = startChild(name, sampleUpstream, [name, String(port)], base, (line) => {
        lines.push(line);
        io.err(line);
      });
      children.push(child);
      const url = `http://127.0.0.1:${port === 0 ? await listeningPort(child, lines) : port}`;
      await waitForHttp(`${url}/`, child, 10_000);
      upstreams.push({ name, url });
    }
    const client = new AdminClient({ url: adminUrl, token });
    for (const doc of sampleDocuments(upstreams)) {
      const plural = { Gateway: 'gateways', GatewayPool: 'gateway-pools', Api: 'apis' }[doc.kind] ?? '';
      await client.request('PUT', `/v1/${plural}/${doc.metadata.name}`, doc);
    }
    // A shared runtime (it serves every org) joins as any runtime does: with a join token.
    const joined = (await client.request<{ token: string }>('POST', '/v1/runtime-tokens', { zone, org: null, labels: {} })).body;
    const runtime = startChild('runtime', runtimeMain(), [], {
      ...base,
      CAUSEWAY_CONTROLLERS: formatAddress(xdsAddress),
      CAUSEWAY_LISTEN_ADDR: formatAddress(proxyAddress),
      CAUSEWAY_RUNTIME_ADMIN_ADDR: formatAddress(runtimeAdminAddress),
      CAUSEWAY_NODE_ID: env.CAUSEWAY_NODE_ID ?? 'dev-runtime',
      CAUSEWAY_ZONE: zone,
      CAUSEWAY_CA_CERT: paths.caCert,
      CAUSEWAY_RUNTIME_TOKEN: joined.token,
    }, io.err);
    children.push(runtime);
    const proxyUrl = `http://${formatAddress(proxyAddress)}`;
    await waitForHttp(`${proxyUrl}/hello/`, runtime, 30_000);

    io.out([
      '',
      'Causeway is running:',
      `  proxy (API traffic)   ${proxyUrl}`,
      `  sample API            curl ${proxyUrl}/hello/`,
      `  console               ${adminUrl}/console/   (sign in with the admin token)`,
      `  admin API             ${adminUrl}/v1/apis   (Authorization: Bearer ${token})`,
      `  admin token           ${token}`,
      `  xDS (runtimes)        ${formatAddress(xdsAddress)} (mTLS; CA ${paths.caCert})`,
      `  runtime admin         http://${formatAddress(runtimeAdminAddress)}/config`,
      `  sample upstreams      ${upstreams.map((u) => u.url).join(', ')}`,
      `  data                  ${embedded === undefined ? databaseUrl.replace(/:[^:@/]*@/, ':***@') : `${embedded.dataDir} (embedded PostgreSQL on port ${embedded.port})`}`,
      '',
      'Try the CLI in another terminal:',
      `  export CAUSEWAY_URL=${adminUrl} CAUSEWAY_TOKEN=${token}`,
      '  npx causeway get apis',
      '',
      'Press Ctrl-C to stop everything.',
    ].join('\n'));
    return { stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
