// npm run bench:scale: 10,000 APIs and 100 runtimes on one controller.
//
// Measures a full initial sync (time, bytes and CPU per runtime), the bytes one change
// costs with 10 APIs and with 10,000 (it must not grow with the number of APIs), and memory.
import { startEmbeddedDatabase } from '@causeway/controller';
import { admin, cpuMsOf, mb, metricSum, percentile, pool, privateRssOf, rssOf, startController, startRuntime, table, type RuntimeProc } from './lib.ts';
import { writeSection } from './report.ts';

const RUNTIMES = Number(process.env.BENCH_RUNTIMES ?? 100);
const APIS = Number(process.env.BENCH_APIS ?? 10_000);
/** Writes serialize on the revision row; more than the controller's 20 connections would only queue. */
const PUT_CONCURRENCY = 20;
/** Single PUTs timed once the APIs exist, as the reference for the one-write bulk load. */
const PUTS = 500;

const database = await startEmbeddedDatabase();
let runtimes: RuntimeProc[] = [];
let stopController: (() => Promise<void>) | undefined;
const latestApplied = new Map<string, number>();
/** CPU each runtime had used once it logged that it started (before its stream sent anything). */
const startupCpuMs = new Map<string, number>();
const log = (message: string): void => void process.stderr.write(`${new Date().toISOString()} ${message}\n`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
try {
  const controller = await startController('scale-controller', database.url);
  stopController = controller.stop;
  const put = async (i: number, requestMs = 15_000) =>
    ((await admin(controller.adminUrl, 'PUT', `/v1/apis/api-${i}`, { spec: { basePath: `/api-${i}`, upstream: { gateway: 'gw-1' }, timeouts: { requestMs } } })).body as { metadata: { revision: number } }).metadata.revision;
  const bytes = () => metricSum(controller.adminUrl, 'causeway_controller_xds_response_bytes_total');
  const startAll = async (): Promise<void> => {
    runtimes = [];
    latestApplied.clear();
    await pool(Array.from({ length: RUNTIMES }, (_, i) => i), 8, async (i) => {
      const id = `scale-rt-${i}`;
      const runtime = await startRuntime(id, controller.xds, (revision, _at, type) => {
        if (type === 'api') latestApplied.set(id, Math.max(latestApplied.get(id) ?? 0, revision));
      });
      startupCpuMs.set(id, await cpuMsOf(runtime.child.pid));
      runtimes.push(runtime);
    });
  };
  const stopAll = async (): Promise<void> => {
    await Promise.all(runtimes.map((r) => r.stop()));
    runtimes = [];
  };
  const allAt = async (revision: number): Promise<void> => {
    while (runtimes.some((r) => (latestApplied.get(r.name) ?? 0) < revision)) await new Promise((r) => setTimeout(r, 20));
  };
  const oneChange = async (): Promise<number> => {
    const before = await bytes();
    await allAt(await put(0, 20_000 + Math.floor(Math.random() * 1000)));
    return ((await bytes()) - before) / RUNTIMES;
  };

  await admin(controller.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: 'http://127.0.0.1:9' } });
  let revision = 0;
  for (let i = 0; i < 10; i++) revision = await put(i);
  log(`starting ${RUNTIMES} runtimes`);
  await startAll();
  await allAt(revision);
  const changeAt10 = await oneChange();

  // The runtimes share this machine's two cores with the controller and PostgreSQL; while
  // they are connected, every commit costs a push to each of them, which says nothing about
  // the admin API. They are stopped for the bulk load and started again for the full sync.
  await stopAll();
  log(`creating ${APIS - 10} more APIs in one POST /v1/apply`);
  const items = Array.from({ length: APIS - 10 }, (_, i) => ({
    kind: 'Api',
    metadata: { name: `api-${i + 10}` },
    spec: { basePath: `/api-${i + 10}`, upstream: { gateway: 'gw-1' }, timeouts: { requestMs: 15_000 } },
  }));
  const createStart = Date.now();
  await admin(controller.adminUrl, 'POST', '/v1/apply', { items });
  const createMs = Date.now() - createStart;
  log(`${PUTS} single PUTs, ${PUT_CONCURRENCY} at a time`);
  const putStart = Date.now();
  await pool(Array.from({ length: PUTS }, (_, i) => i + 10), PUT_CONCURRENCY, async (i) => void (await put(i, 16_000)));
  const putMs = Date.now() - putStart;

  log(`starting ${RUNTIMES} runtimes for a full initial sync`);
  const target = await put(1, 30_000);
  const before = await bytes();
  const controllerCpuBefore = await cpuMsOf(controller.child.pid);
  const syncStart = Date.now();
  await startAll();
  await allAt(target);
  const syncMs = Date.now() - syncStart;
  const controllerCpuMs = (await cpuMsOf(controller.child.pid)) - controllerCpuBefore;
  const syncBytes = ((await bytes()) - before) / RUNTIMES;
  const cpu = await Promise.all(runtimes.map(async (r) => ({ startup: startupCpuMs.get(r.name) ?? 0, total: await cpuMsOf(r.child.pid) })));
  const startupCpu = cpu.map((c) => c.startup);
  const syncCpu = cpu.map((c) => c.total - c.startup);

  const changeAtMany = await oneChange();

  const controllerRss = await rssOf(controller.child.pid);
  const runtimeRss = await Promise.all(runtimes.map((r) => rssOf(r.child.pid)));
  const runtimePrivate = await Promise.all(runtimes.map((r) => privateRssOf(r.child.pid)));
  const output = [
    `${APIS.toLocaleString('en')} APIs, ${RUNTIMES} runtimes, one controller, all on this machine. The APIs are created with no runtime connected;`,
    'the runtimes are then started together (8 processes at a time), each with an empty config.',
    '',
    table(['measure', 'value'], [
      [`create ${(APIS - 10).toLocaleString('en')} APIs in one \`POST /v1/apply\` (one write, one revision)`, seconds(createMs)],
      [`reference: ${PUTS} single \`PUT\`s of existing APIs (${PUT_CONCURRENCY} at a time, ${APIS.toLocaleString('en')} APIs)`, `${seconds(putMs)} (${Math.round(PUTS / (putMs / 1000))} writes/s)`],
      [`full initial sync of ${RUNTIMES} runtimes started together (until every one applied)`, seconds(syncMs)],
      ['CPU per runtime: start-up (until listening) / initial sync, p50', `${seconds(percentile(startupCpu, 50))} / ${seconds(percentile(syncCpu, 50))}`],
      [`controller CPU during the sync (all ${RUNTIMES} streams)`, seconds(controllerCpuMs)],
      ['bytes of a full initial sync, per runtime', `${Math.round(syncBytes).toLocaleString('en')} B`],
      ['bytes of one API change, per runtime, with 10 APIs (reference)', `${Math.round(changeAt10)} B`],
      [`bytes of one API change, per runtime, with ${APIS.toLocaleString('en')} APIs`, `${Math.round(changeAtMany)} B`],
      ['controller RSS', mb(controllerRss)],
      ['runtime RSS p50 / max', `${mb(percentile(runtimeRss, 50))} / ${mb(Math.max(...runtimeRss))}`],
      ['runtime private memory (RSS without the shared Node.js binary) p50', mb(percentile(runtimePrivate, 50))],
      [`private memory of all ${RUNTIMES} runtimes together`, mb(runtimePrivate.reduce((sum, m) => sum + m, 0))],
    ]),
  ].join('\n');
  console.log(output);
  await writeSection('scale', process.env.BENCH_RUNTIMES === undefined ? 'npm run bench:scale' : `BENCH_RUNTIMES=${RUNTIMES} npm run bench:scale`, output);
} finally {
  await Promise.all(runtimes.map((r) => r.stop()));
  await stopController?.();
  await database.stop();
}
