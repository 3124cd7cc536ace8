// npm run bench:propagation: commit-to-served time across two controller replicas, over
// plaintext xDS and over mTLS side by side in one run.
//
// Two controllers, N runtimes (half on each; N from BENCH_RUNTIMES, default 20 then 50), API
// changes through replica A at a steady rate and in a burst; first with plaintext xDS (the reference), then, on the same
// database, with TLS controllers and runtimes that joined with a join token and stream over
// mTLS. "Served" is the moment a runtime logs that it applied a revision at or after the
// change. The floor for anything that crosses replicas, measured in the same run, is the
// bare PostgreSQL LISTEN/NOTIFY round trip.
import { cpus } from 'node:os';
import postgres from 'postgres';
import { startEmbeddedDatabase } from '@causeway/controller';
import { TestPki } from '../src/harness/pki.ts';
import { admin, cpuMsOf, metricSum, percentile, pool, startController, startRuntime, table, type ControllerProc, type RuntimeProc } from './lib.ts';
import { writeSection } from './report.ts';

/** Each count is measured in both modes; the machine runs every runtime, so a large count measures its CPU as much as propagation. */
const RUNTIME_COUNTS = (process.env.BENCH_RUNTIMES ?? '20,50').split(',').map(Number);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 500);
const RATE_PER_S = Number(process.env.BENCH_RATE ?? 20);
const APIS = 50;
const BURST_WRITERS = 16;
const ZONE = 'bench';
/** The steady-rate target for a change made on one replica to be served by runtimes of the other. */
const CROSS_P99_TARGET_MS = 100;
const MODES = ['plaintext', 'mTLS'] as const;
type Mode = (typeof MODES)[number];

interface Applied {
  revision: number;
  at: number;
}
interface Commit {
  revision: number;
  at: number;
}
interface Phase {
  readonly name: string;
  readonly runtimes: number;
  readonly same: number[];
  readonly cross: number[];
  readonly bytesPerChangePerRuntime: number;
  readonly responsesPerRuntime: number;
  readonly controllerCpuMsPerChange: number;
  readonly runtimeCpuUsPerChange: number;
}

const database = await startEmbeddedDatabase();
const pki = await TestPki.create();
let runtimes: RuntimeProc[] = [];
let controllers: ControllerProc[] = [];
let offset = 0;
const log = (message: string): void => void process.stderr.write(`${new Date().toISOString()} ${message}\n`);

/** Starts the replicas and runtimes of one mode, runs the steady and burst phases through replica A, stops them all. */
async function measureMode(mode: Mode, count: number, setUp: (a: ControllerProc) => Promise<NodeJS.ProcessEnv>): Promise<Phase[]> {
  const controllerEnv = mode === 'mTLS' ? pki.controllerEnv() : {};
  const [a, b] = await Promise.all([startController(`replica-a-${mode}`, database.url, controllerEnv), startController(`replica-b-${mode}`, database.url, controllerEnv)]);
  controllers = [a, b];
  const runtimeEnv = await setUp(a);
  const applied: Applied[][] = [];
  const onA: boolean[] = [];
  log(`${mode}: starting ${count} runtimes`);
  for (let i = 0; i < count; i++) {
    const events: Applied[] = [];
    applied.push(events);
    onA.push(i % 2 === 0);
    const onApplied = (revision: number, at: number, type: string): void => void (type === 'api' && events.push({ revision, at }));
    runtimes.push(await startRuntime(`bench-rt-${mode === 'mTLS' ? 'tls-' : ''}${count}-${i}`, i % 2 === 0 ? a.xds : b.xds, onApplied, runtimeEnv));
  }
  const caughtUp = async (revision: number): Promise<void> => {
    const deadline = Date.now() + 120_000;
    while (!applied.every((events) => events.some((e) => e.revision >= revision))) {
      if (Date.now() > deadline) {
        const behind = applied.flatMap((events, i) => (events.some((e) => e.revision >= revision) ? [] : [`bench-rt-${i}@${events.at(-1)?.revision ?? 0}`]));
        const first = runtimes.find((r, i) => !applied[i]?.some((e) => e.revision >= revision));
        throw new Error(`runtimes did not reach revision ${revision} in 120 s: ${behind.join(', ')}\n${first?.tail.join('\n') ?? ''}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const latest = async (): Promise<number> => ((await admin(a.adminUrl, 'GET', `/v1/apis/api-${APIS - 1}`)).body as { metadata: { revision: number } }).metadata.revision;
  await caughtUp(await latest());
  // Start-up work (compilation, the first collections) is not what a change costs.
  await new Promise((r) => setTimeout(r, 3_000));

  const change = async (i: number): Promise<Commit> => {
    const response = await admin(a.adminUrl, 'PUT', `/v1/apis/api-${i % APIS}`, { spec: { basePath: `/api-${i % APIS}`, upstream: { gateway: 'gw-1' }, timeouts: { requestMs: 10_000 + (i % 1000) } } });
    return { revision: (response.body as { metadata: { revision: number } }).metadata.revision, at: Date.now() };
  };
  const sum = async (prefix: string): Promise<number> => (await metricSum(a.adminUrl, prefix)) + (await metricSum(b.adminUrl, prefix));
  const cpu = async (procs: readonly { child: { pid?: number | undefined } }[]): Promise<number> =>
    (await Promise.all(procs.map((p) => cpuMsOf(p.child.pid)))).reduce((total, v) => total + v, 0);
  const measure = async (commits: Commit[]) => {
    await caughtUp(Math.max(...commits.map((c) => c.revision)));
    const same: number[] = [];
    const cross: number[] = [];
    for (const commit of commits) {
      applied.forEach((events, i) => {
        const served = events.find((e) => e.revision >= commit.revision);
        if (served !== undefined) (onA[i] === true ? same : cross).push(Math.max(served.at - commit.at, 0));
      });
    }
    return { same, cross };
  };
  const phase = async (name: string, run: () => Promise<Commit[]>): Promise<Phase> => {
    const before = { bytes: await sum('causeway_controller_xds_response_bytes_total'), responses: await sum('causeway_controller_xds_responses_total{type="api"}') };
    const cpuBefore = { controllers: await cpu(controllers), runtimes: await cpu(runtimes) };
    const startedAt = Date.now();
    const commits = await run();
    const seconds = (Date.now() - startedAt) / 1000;
    const result = await measure(commits);
    const controllerCpuMs = (await cpu(controllers)) - cpuBefore.controllers;
    const runtimeCpuMs = (await cpu(runtimes)) - cpuBefore.runtimes;
    return {
      name: `${name}: ${commits.length} changes in ${seconds.toFixed(1)} s (${Math.round(commits.length / seconds)}/s)`,
      runtimes: count,
      ...result,
      bytesPerChangePerRuntime: ((await sum('causeway_controller_xds_response_bytes_total')) - before.bytes) / commits.length / count,
      responsesPerRuntime: ((await sum('causeway_controller_xds_responses_total{type="api"}')) - before.responses) / count,
      controllerCpuMsPerChange: controllerCpuMs / commits.length,
      runtimeCpuUsPerChange: (runtimeCpuMs * 1000) / commits.length / count,
    };
  };
  log(`${mode}: steady, ${CHANGES} changes at ${RATE_PER_S}/s`);
  const steady = await phase('steady', async () => {
    const commits: Commit[] = [];
    const start = Date.now();
    for (let i = 0; i < CHANGES; i++) {
      const due = start + (i * 1000) / RATE_PER_S;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      commits.push(await change(offset++));
    }
    return commits;
  });
  log(`${mode}: burst, ${CHANGES} changes from ${BURST_WRITERS} writers`);
  const burst = await phase(`burst (${BURST_WRITERS} writers)`, async () => {
    const commits: Commit[] = [];
    await pool(Array.from({ length: CHANGES }, (_, i) => i), BURST_WRITERS, async () => void commits.push(await change(offset++)));
    return commits;
  });
  await Promise.all(runtimes.map((r) => r.stop()));
  runtimes = [];
  for (const controller of controllers) await controller.stop();
  controllers = [];
  return [steady, burst];
}

/** Reference: PostgreSQL NOTIFY from one connection to a LISTEN on another. */
async function notifyRoundTrips(count: number): Promise<number[]> {
  const listener = postgres(database.url, { max: 1, onnotice: () => undefined });
  const notifier = postgres(database.url, { max: 1, onnotice: () => undefined });
  const latencies: number[] = [];
  let pending: ((at: number) => void) | undefined;
  await listener.listen('bench_ref', () => pending?.(performance.now()));
  for (let i = 0; i < count; i++) {
    const received = new Promise<number>((resolve) => (pending = resolve));
    const sentAt = performance.now();
    await notifier`SELECT pg_notify('bench_ref', ${String(i)})`;
    latencies.push((await received) - sentAt);
  }
  await listener.end();
  await notifier.end();
  return latencies;
}

try {
  const setUp: Record<Mode, (a: ControllerProc) => Promise<NodeJS.ProcessEnv>> = {
    plaintext: async (a) => {
      await admin(a.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: 'http://127.0.0.1:9' } });
      for (let i = 0; i < APIS; i++) await admin(a.adminUrl, 'PUT', `/v1/apis/api-${i}`, { spec: { basePath: `/api-${i}`, upstream: { gateway: 'gw-1' } } });
      return { CAUSEWAY_ZONE: ZONE };
    },
    mTLS: async (a) => {
      const created = await admin(a.adminUrl, 'POST', '/v1/runtime-tokens', { zone: ZONE, org: null, expiresInSeconds: 86_400 });
      return { CAUSEWAY_ZONE: ZONE, ...pki.runtimeEnv((created.body as { token: string }).token) };
    },
  };
  // Per runtime count: [plaintext steady, plaintext burst, mTLS steady, mTLS burst].
  const measured: { count: number; byMode: Record<Mode, Phase[]> }[] = [];
  for (const count of RUNTIME_COUNTS) {
    const plaintext = await measureMode('plaintext', count, setUp.plaintext);
    const tls = await measureMode('mTLS', count, setUp.mTLS);
    measured.push({ count, byMode: { plaintext, mTLS: tls } });
  }
  const notifyLatencies = await notifyRoundTrips(500);

  const row = (p: Phase, mode: Mode, replica: 'same' | 'cross') => {
    const samples = p[replica];
    return [p.name, mode, p.runtimes, `${replica} replica`, samples.length, percentile(samples, 50), percentile(samples, 99), Math.round(p.bytesPerChangePerRuntime), Math.round(p.responsesPerRuntime), p.controllerCpuMsPerChange, Math.round(p.runtimeCpuUsPerChange)];
  };
  const rows: (string | number)[][] = measured.flatMap(({ byMode }) =>
    [0, 1].flatMap((index) =>
      (['same', 'cross'] as const).flatMap((replica) => MODES.flatMap((mode) => {
        const p = byMode[mode][index];
        return p === undefined ? [] : [row(p, mode, replica)];
      })),
    ),
  );
  rows.push(['reference', '-', '-', 'PostgreSQL NOTIFY → LISTEN', notifyLatencies.length, percentile(notifyLatencies, 50), percentile(notifyLatencies, 99), '-', '-', '-', '-']);
  const crossSteady = (count: number, byMode: Record<Mode, Phase[]>, mode: Mode): string => {
    const steady = byMode[mode][0];
    const p99 = percentile(steady?.cross ?? [], 99);
    // The cores the steady phase kept busy: both replicas and every runtime, at the rate held.
    const rate = RATE_PER_S;
    const cores = steady === undefined ? Number.NaN : ((steady.controllerCpuMsPerChange + (steady.runtimeCpuUsPerChange / 1000) * count) * rate) / 1000;
    return `${count} runtimes ${mode} ${Math.round(p99)} ms (${p99 < CROSS_P99_TARGET_MS ? 'met' : 'not met'}; ${cores.toFixed(1)} cores of CPU at ${rate}/s)`;
  };
  const output = [
    `${RUNTIME_COUNTS.join(' and then ')} runtimes (half on each of 2 replicas), ${APIS} APIs, ${CHANGES} changes per phase, each through replica A; for each count, plaintext`,
    'xDS first (the reference), then TLS replicas on the same database with runtimes that joined with a join token and stream over mTLS.',
    `Every runtime runs on this machine of ${cpus().length} cores beside both replicas and PostgreSQL: a change costs each runtime its CPU once, so the`,
    'larger count measures whether the machine can carry the runtimes as much as how fast a change travels; in a deployment each',
    'runtime has its own CPU. CPU per change is the steadier figure.',
    '',
    table(['phase', 'xDS', 'runtimes', 'replica', 'samples', 'commit→served p50 (ms)', 'p99 (ms)', 'bytes pushed per change per runtime', 'API responses per runtime', 'controller CPU per change (ms, both replicas)', 'runtime CPU per change (µs, each runtime)'], rows),
    '',
    `Target: cross-replica commit→served p99 under ${CROSS_P99_TARGET_MS} ms at the steady rate of ${RATE_PER_S}/s:`,
    ...measured.flatMap(({ count, byMode }) => MODES.map((mode) => `- ${crossSteady(count, byMode, mode)}`)),
    'Served: the runtime logged that it applied a revision at or after the change. API responses per runtime: how many',
    'pushes carried the phase\'s changes to each runtime (fewer than changes when a burst is coalesced). CPU: user and system',
    'time of the processes over the phase (including what they do between changes), divided by the changes; cores of CPU:',
    'what the replicas and all runtimes together need at the target rate.',
  ].join('\n');
  console.log(output);
  await writeSection('propagation', 'npm run bench:propagation', output);
} finally {
  await Promise.all(runtimes.map((r) => r.stop()));
  for (const controller of controllers) await controller.stop();
  await database.stop();
  await pki.close();
}
