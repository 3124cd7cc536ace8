// npm run bench:scale: 10,000 APIs and 100 runtimes on one controller, over plaintext xDS
// and over mTLS side by side in one run.
//
// Measures how long 100 runtimes take to join (join token → certificate → first config)
// and sync, the CPU a stream set-up costs (every runtime reconnecting to a restarted
// controller, with the certificate it holds, so no join), a full initial sync
// (time, bytes and CPU per runtime), the bytes one change costs with 10 APIs and with
// 10,000 (it must not grow with the number of APIs), and memory. Each runtime measure is
// taken twice: against a plaintext controller (the reference) and against a TLS controller
// that signs certificates, on the same database, one after the other.
import { startEmbeddedDatabase } from '@causeway/controller';
import { TestPki } from '../src/harness/pki.ts';
import { certificateCost } from './certificate-cost.ts';
import { admin, cpuMsOf, loggedAt, mb, metricSum, percentile, pool, privateRssOf, rssOf, startController, startRuntime, table, type ControllerProc, type RuntimeProc } from './lib.ts';
import { writeSection } from './report.ts';

const RUNTIMES = Number(process.env.BENCH_RUNTIMES ?? 100);
const APIS = Number(process.env.BENCH_APIS ?? 10_000);
/** Writes serialize on the revision row; more than the controller's 20 connections would only queue. */
const PUT_CONCURRENCY = 20;
/** Single PUTs timed once the APIs exist, as the reference for the one-write bulk load. */
const PUTS = 500;
const ZONE = 'bench';
/** On two shared cores, 8 runtimes starting together can take long to listen. */
const START_TIMEOUT_MS = 180_000;
const MODES = ['plaintext', 'mTLS'] as const;
type Mode = (typeof MODES)[number];

interface Sync {
  readonly wallMs: number;
  readonly controllerCpuMs: number;
  readonly bytesPerRuntime: number;
  /** Per runtime, ms since its process was spawned. */
  readonly listening: number[];
  readonly certificate: number[];
  readonly firstConfig: number[];
  readonly startupCpuMs: number[];
  readonly syncCpuMs: number[];
}

const database = await startEmbeddedDatabase();
const pki = await TestPki.create();
let runtimes: RuntimeProc[] = [];
const controllers: ControllerProc[] = [];
/** Runtimes that logged `connected to controller` since the set was last cleared. */
const connected = new Set<string>();
/** Set when the bench ends, so that runtimes still starting then are stopped too. */
let closing = false;
const latestApplied = new Map<string, number>();
const log = (message: string): void => void process.stderr.write(`${new Date().toISOString()} ${message}\n`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const ms = (value: number): string => `${Math.round(value)} ms`;
try {
  const cost = await certificateCost();
  let current: ControllerProc | undefined;
  /** A new controller for each measure, so that none is warmer than the other. */
  const open = async (mode: Mode, env: NodeJS.ProcessEnv = {}): Promise<ControllerProc> => {
    const controller = await startController(`scale-${mode}`, database.url, { ...(mode === 'mTLS' ? pki.controllerEnv() : {}), ...env });
    controllers.push(controller);
    current = controller;
    return controller;
  };
  const first = await open('plaintext');
  let latest = 0;
  const put = async (i: number, requestMs = 15_000): Promise<number> => {
    const body = (await admin((current ?? first).adminUrl, 'PUT', `/v1/apis/api-${i}`, { spec: { basePath: `/api-${i}`, upstream: { gateway: 'gw-1' }, timeouts: { requestMs } } })).body;
    latest = Math.max(latest, (body as { metadata: { revision: number } }).metadata.revision);
    return latest;
  };
  const bytes = (controller: ControllerProc) => metricSum(controller.adminUrl, 'causeway_controller_xds_response_bytes_total');
  const joinToken = ((await admin(first.adminUrl, 'POST', '/v1/runtime-tokens', { zone: ZONE, org: null, expiresInSeconds: 86_400 })).body as { token: string }).token;
  const allAt = async (revision: number): Promise<void> => {
    while (runtimes.some((r) => (latestApplied.get(r.name) ?? 0) < revision)) await new Promise((r) => setTimeout(r, 20));
  };
  const stopAll = async (): Promise<void> => {
    await Promise.all(runtimes.map((r) => r.stop()));
    runtimes = [];
  };

  /** Starts RUNTIMES runtimes against `controller` (8 processes at a time) and waits until every one applied `revision`. */
  const sync = async (mode: Mode, controller: ControllerProc, revision: number): Promise<Sync> => {
    runtimes = [];
    latestApplied.clear();
    const spawnedAt = new Map<string, number>();
    const firstApplied = new Map<string, number>();
    const startupCpu = new Map<string, number>();
    const env = mode === 'mTLS' ? { CAUSEWAY_ZONE: ZONE, ...pki.runtimeEnv(joinToken) } : { CAUSEWAY_ZONE: ZONE };
    const bytesBefore = await bytes(controller);
    const cpuBefore = await cpuMsOf(controller.child.pid);
    const start = Date.now();
    await pool(Array.from({ length: RUNTIMES }, (_, i) => i), 8, async (i) => {
      if (closing) return;
      const id = `scale-rt-${mode === 'mTLS' ? 'tls-' : ''}${i}`;
      spawnedAt.set(id, Date.now());
      const runtime = await startRuntime(id, controller.xds, (applied, at, type) => {
        if (type !== 'api') return;
        if (!firstApplied.has(id)) firstApplied.set(id, at);
        latestApplied.set(id, Math.max(latestApplied.get(id) ?? 0, applied));
      }, env, START_TIMEOUT_MS);
      if (closing) return runtime.stop();
      runtime.onLine((line) => void (line.includes('"msg":"connected to controller"') && connected.add(id)));
      startupCpu.set(id, await cpuMsOf(runtime.child.pid));
      runtimes.push(runtime);
    });
    await allAt(revision);
    const wallMs = Date.now() - start;
    const controllerCpuMs = (await cpuMsOf(controller.child.pid)) - cpuBefore;
    const since = (r: RuntimeProc, at: number | undefined): number[] => (at === undefined ? [] : [at - (spawnedAt.get(r.name) ?? 0)]);
    const cpu = await Promise.all(runtimes.map(async (r) => ({ startup: startupCpu.get(r.name) ?? 0, total: await cpuMsOf(r.child.pid) })));
    return {
      wallMs,
      controllerCpuMs,
      bytesPerRuntime: ((await bytes(controller)) - bytesBefore) / RUNTIMES,
      listening: runtimes.flatMap((r) => since(r, loggedAt(r, 'runtime started'))),
      certificate: runtimes.flatMap((r) => since(r, loggedAt(r, 'certificate issued'))),
      firstConfig: runtimes.flatMap((r) => since(r, firstApplied.get(r.name))),
      startupCpuMs: cpu.map((c) => c.startup),
      syncCpuMs: cpu.map((c) => c.total - c.startup),
    };
  };
  const oneChange = async (controller: ControllerProc): Promise<number> => {
    const before = await bytes(controller);
    await allAt(await put(0, 20_000 + Math.floor(Math.random() * 1000)));
    return ((await bytes(controller)) - before) / RUNTIMES;
  };

  /**
   * Restarts `controller` on its xDS address and measures the CPU of every runtime's stream
   * set-up to the new process (a TLS handshake with the certificate it holds, and a resume).
   */
  const reconnect = async (mode: Mode, controller: ControllerProc): Promise<{ wallMs: number; controllerCpuMs: number; runtimeCpuMs: number[] }> => {
    await controller.stop();
    const runtimeCpuBefore = await Promise.all(runtimes.map((r) => cpuMsOf(r.child.pid)));
    connected.clear();
    const next = await open(mode, { CAUSEWAY_XDS_ADDR: controller.xds });
    const cpuBefore = await cpuMsOf(next.child.pid);
    const start = Date.now();
    while (runtimes.some((r) => !connected.has(r.name))) await new Promise((r) => setTimeout(r, 20));
    const wallMs = Date.now() - start;
    const controllerCpuMs = (await cpuMsOf(next.child.pid)) - cpuBefore;
    const runtimeCpuMs = await Promise.all(runtimes.map(async (r, i) => (await cpuMsOf(r.child.pid)) - (runtimeCpuBefore[i] ?? 0)));
    await next.stop();
    return { wallMs, controllerCpuMs, runtimeCpuMs };
  };

  await admin(first.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: 'http://127.0.0.1:9' } });
  for (let i = 0; i < 10; i++) await put(i);
  const join = {} as Record<Mode, Sync>;
  const changeAt10 = {} as Record<Mode, number>;
  const restart = {} as Record<Mode, Awaited<ReturnType<typeof reconnect>>>;
  for (const mode of MODES) {
    log(`${mode}: ${RUNTIMES} runtimes join and sync 10 APIs`);
    const controller = mode === 'plaintext' ? first : await open(mode);
    join[mode] = await sync(mode, controller, latest);
    changeAt10[mode] = await oneChange(controller);
    log(`${mode}: the controller restarts; ${RUNTIMES} streams set up again`);
    restart[mode] = await reconnect(mode, controller);
    await stopAll();
  }

  // The runtimes share this machine's two cores with the controller and PostgreSQL; while
  // they are connected, every commit costs a push to each of them, which says nothing about
  // the admin API. They are stopped for the bulk load and started again for the full sync.
  log(`creating ${APIS - 10} more APIs in one POST /v1/apply`);
  const items = Array.from({ length: APIS - 10 }, (_, i) => ({
    kind: 'Api',
    metadata: { name: `api-${i + 10}` },
    spec: { basePath: `/api-${i + 10}`, upstream: { gateway: 'gw-1' }, timeouts: { requestMs: 15_000 } },
  }));
  const loader = await open('plaintext');
  const createStart = Date.now();
  await admin(loader.adminUrl, 'POST', '/v1/apply', { items });
  const createMs = Date.now() - createStart;
  log(`${PUTS} single PUTs, ${PUT_CONCURRENCY} at a time`);
  const putStart = Date.now();
  await pool(Array.from({ length: PUTS }, (_, i) => i + 10), PUT_CONCURRENCY, async (i) => void (await put(i, 16_000)));
  const putMs = Date.now() - putStart;

  await put(1, 30_000);
  await loader.stop();
  const full = {} as Record<Mode, Sync & { changeBytes: number; controllerRss: number; rss: number[]; privateRss: number[] }>;
  for (const mode of MODES) {
    log(`${mode}: starting ${RUNTIMES} runtimes for a full initial sync of ${APIS} APIs`);
    const controller = await open(mode);
    const synced = await sync(mode, controller, latest);
    const changeBytes = await oneChange(controller);
    const [controllerRss, rss, privateRss] = await Promise.all([
      rssOf(controller.child.pid),
      Promise.all(runtimes.map((r) => rssOf(r.child.pid))),
      Promise.all(runtimes.map((r) => privateRssOf(r.child.pid))),
    ]);
    full[mode] = { ...synced, changeBytes, controllerRss, rss, privateRss };
    await stopAll();
    await controller.stop();
  }

  const both = (measure: string, value: (mode: Mode) => string): string[] => [measure, ...MODES.map(value)];
  const p = (values: readonly number[], at: number): string => (values.length === 0 ? '-' : seconds(percentile(values, at)));
  const timeline = (at: number) => (mode: Mode): string => `${p(join[mode].listening, at)} / ${p(join[mode].certificate, at)} / ${p(join[mode].firstConfig, at)}`;
  const output = [
    `${APIS.toLocaleString('en')} APIs, ${RUNTIMES} runtimes, one controller, all on this machine, shared with other work while measured (CPU`,
    'per operation is the steadier figure). The runtimes are started together (8 processes at a time), each with an empty config,',
    'first against a plaintext controller (the reference), then against a TLS controller on the same database, each runtime',
    `joining with one shared join token (\`POST /v1/runtime-tokens\`, zone \`${ZONE}\`, org null): ECDSA P-256 key, signing request, certificate, then the`,
    'config stream over mTLS. Times since spawn: listening / certificate issued / first config applied.',
    '',
    table(['measure', 'plaintext (reference)', 'mTLS (join token)'], [
      both(`${RUNTIMES} runtimes start, join and sync 10 APIs (until every one applied)`, (m) => seconds(join[m].wallMs)),
      both('per runtime since spawn, p50: listening / certificate / first config', timeline(50)),
      both('per runtime since spawn, p99: listening / certificate / first config', timeline(99)),
      both('controller CPU per runtime join and stream set-up (10 APIs)', (m) => ms(join[m].controllerCpuMs / RUNTIMES)),
      both('runtime CPU from listening until synced (10 APIs), p50', (m) => ms(percentile(join[m].syncCpuMs, 50))),
      both(`the controller restarted: every stream set up again, until all ${RUNTIMES} reconnected (from ready)`, (m) => seconds(restart[m].wallMs)),
      both('controller CPU per stream set-up (reconnect with the certificate held, no join)', (m) => ms(restart[m].controllerCpuMs / RUNTIMES)),
      both('runtime CPU per stream set-up (the same), p50', (m) => ms(percentile(restart[m].runtimeCpuMs, 50))),
      both('bytes of one API change, per runtime, with 10 APIs', (m) => `${Math.round(changeAt10[m])} B`),
      both(`full initial sync of ${RUNTIMES} runtimes with ${APIS.toLocaleString('en')} APIs (until every one applied)`, (m) => seconds(full[m].wallMs)),
      both('controller CPU per runtime, full initial sync', (m) => ms(full[m].controllerCpuMs / RUNTIMES)),
      both('CPU per runtime: start-up (until listening) / initial sync, p50', (m) => `${seconds(percentile(full[m].startupCpuMs, 50))} / ${seconds(percentile(full[m].syncCpuMs, 50))}`),
      both('bytes of a full initial sync, per runtime', (m) => `${Math.round(full[m].bytesPerRuntime).toLocaleString('en')} B`),
      both(`bytes of one API change, per runtime, with ${APIS.toLocaleString('en')} APIs`, (m) => `${Math.round(full[m].changeBytes)} B`),
      both('controller RSS (with the runtimes connected)', (m) => mb(full[m].controllerRss)),
      both('runtime RSS p50 / max', (m) => `${mb(percentile(full[m].rss, 50))} / ${mb(Math.max(...full[m].rss))}`),
      both('runtime private memory (RSS without the shared Node.js binary) p50', (m) => mb(percentile(full[m].privateRss, 50))),
      both(`private memory of all ${RUNTIMES} runtimes together`, (m) => mb(full[m].privateRss.reduce((sum, v) => sum + v, 0))),
    ]),
    '',
    table(['admin API and certificate work', 'value'], [
      [`create ${(APIS - 10).toLocaleString('en')} APIs in one \`POST /v1/apply\` (one write, one revision)`, seconds(createMs)],
      [`reference: ${PUTS} single \`PUT\`s of existing APIs (${PUT_CONCURRENCY} at a time, ${APIS.toLocaleString('en')} APIs)`, `${seconds(putMs)} (${Math.round(PUTS / (putMs / 1000))} writes/s)`],
      ['CPU of a runtime\'s key pair and signing request (in one process, one at a time)', `${(cost.keyAndRequestUs / 1000).toFixed(2)} ms`],
      ['CPU of verifying a signing request and signing the certificate (the same)', `${(cost.signUs / 1000).toFixed(2)} ms`],
    ]),
  ].join('\n');
  console.log(output);
  await writeSection('scale', process.env.BENCH_RUNTIMES === undefined ? 'npm run bench:scale' : `BENCH_RUNTIMES=${RUNTIMES} npm run bench:scale`, output);
} finally {
  closing = true;
  await Promise.all(runtimes.map((r) => r.stop()));
  for (const controller of controllers) await controller.stop();
  await database.stop();
  await pki.close();
}
