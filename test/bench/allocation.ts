// npm run bench:allocation: dedicated gateway allocations through two replicas.
//
// Two controllers share one database; RUNTIMES runtimes are split between them, so that an
// allocation's converge step waits for every one of them to apply the tenant's route. A pool
// of GATEWAYS members (one sample upstream answers for all: allocation tells them apart by
// name) is allocated, CONCURRENCY tenants at a time, alternately through each replica, then
// released the same way. Time to `ready` is measured by the client; where it goes, from the
// step log of each allocation (started/finished of each step). Last, a third replica dies
// (failpoint `allocation.after-converge=exit`, a SIGKILL) in the middle of an allocation,
// CRASHES times: the time from its death until a survivor has rolled the allocation back.
import { startEmbeddedDatabase } from '@causeway/controller';
import { eventually } from '../src/harness/eventually.ts';
import { admin, logLine, percentile, pool, sampleUpstream, startController, startProcess, startRuntime, table, type ControllerProc, type Proc } from './lib.ts';
import { writeSection } from './report.ts';

const RUNTIMES = Number(process.env.BENCH_RUNTIMES ?? 10);
const GATEWAYS = Number(process.env.BENCH_GATEWAYS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const CRASHES = Number(process.env.BENCH_CRASHES ?? 3);
const LEASE_MS = Number(process.env.BENCH_LEASE_MS ?? 10_000);
/** `docs`: the results replace the allocation section of docs/performance.md; `stdout`: printed only (a short trial run). */
const REPORT = process.env.BENCH_REPORT ?? 'docs';

interface Step {
  readonly step: string;
  readonly direction: string;
  readonly state: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

interface AllocationDoc {
  readonly id: string;
  readonly state: string;
  readonly steps: readonly Step[];
}

interface Phase {
  readonly wallMs: number;
  readonly latencies: number[];
  readonly docs: AllocationDoc[];
}

const env = { CAUSEWAY_ALLOCATION_LEASE_MS: String(LEASE_MS), CAUSEWAY_ALLOCATION_CONVERGE_TIMEOUT_MS: '60000' };

async function setUp(adminUrl: string, upstreamUrl: string): Promise<void> {
  const members = Array.from({ length: GATEWAYS }, (_, i) => `gw-${String(i + 1).padStart(4, '0')}`);
  await admin(adminUrl, 'POST', '/v1/apply', {
    items: [
      ...members.map((name) => ({ apiVersion: 'causeway/v1', kind: 'Gateway', metadata: { name }, spec: { url: upstreamUrl } })),
      { apiVersion: 'causeway/v1', kind: 'GatewayPool', metadata: { name: 'bench' }, spec: { members } },
    ],
  });
}

/** Each item through the replicas in turn, CONCURRENCY at a time; every answer must be `expected`. */
async function phase<T>(items: readonly T[], replicas: readonly ControllerProc[], call: (replica: ControllerProc, item: T) => Promise<AllocationDoc>, expected: string): Promise<Phase> {
  const latencies: number[] = [];
  const docs: AllocationDoc[] = [];
  const started = performance.now();
  await pool(items, CONCURRENCY, async (item, i) => {
    const t = performance.now();
    const doc = await call(replicas[i % replicas.length] as ControllerProc, item);
    latencies.push(performance.now() - t);
    if (doc.state !== expected) throw new Error(`${doc.id} is ${doc.state}, not ${expected}`);
    docs.push(doc);
  });
  return { wallMs: performance.now() - started, latencies, docs };
}

/** p50 and p99 of each step's duration (ms), in the order the steps ran. */
function byStep(docs: readonly AllocationDoc[], direction: string): (string | number)[][] {
  const durations = new Map<string, number[]>();
  for (const doc of docs) {
    for (const s of doc.steps) {
      if (s.direction !== direction || s.finishedAt === null) continue;
      const list = durations.get(s.step) ?? [];
      list.push(Date.parse(s.finishedAt) - Date.parse(s.startedAt));
      durations.set(s.step, list);
    }
  }
  return [...durations].map(([step, ms]) => [`${direction} ${step}`, percentile(ms, 50), percentile(ms, 99)]);
}

/** A replica that dies after the converge step of the allocation it is asked for. */
async function crashOnce(database: string, survivor: ControllerProc, procs: Proc[], n: number): Promise<number> {
  const doomed = await startController(`doomed-${n}`, database, { ...env, CAUSEWAY_FAILPOINTS: 'allocation.after-converge=exit' });
  procs.push(doomed);
  const tenant = `crash-${n}`;
  await admin(doomed.adminUrl, 'POST', '/v1/gateway-pools/bench/allocations', { tenant }).catch(() => undefined);
  await new Promise<void>((resolve) => (doomed.child.exitCode !== null || doomed.child.signalCode !== null ? resolve() : doomed.child.once('exit', () => resolve())));
  const died = performance.now();
  await eventually(async () => {
    const list = (await admin(survivor.adminUrl, 'GET', `/v1/allocations?tenant=${tenant}`)).body as { items: AllocationDoc[] };
    if (list.items[0]?.state !== 'rolled-back') throw new Error(`${tenant} is ${list.items[0]?.state ?? 'missing'}`);
  }, { timeoutMs: 10 * LEASE_MS, intervalMs: 20 });
  return performance.now() - died;
}

function report(ready: Phase, released: Phase, recoveries: readonly number[]): string {
  const perSecond = (p: Phase): number => (p.docs.length * 1000) / p.wallMs;
  return [
    `${GATEWAYS} allocations through 2 replicas with ${RUNTIMES} runtimes, ${CONCURRENCY} at a time; lease ${LEASE_MS} ms.`,
    '',
    table(['phase', 'count', 'per second', 'p50 (ms)', 'p99 (ms)', 'max (ms)'], [
      ['allocate (to ready)', ready.docs.length, perSecond(ready), percentile(ready.latencies, 50), percentile(ready.latencies, 99), Math.max(...ready.latencies)],
      ['release', released.docs.length, perSecond(released), percentile(released.latencies, 50), percentile(released.latencies, 99), Math.max(...released.latencies)],
    ]),
    '',
    'Where the time goes, from the step logs:',
    '',
    table(['step', 'p50 (ms)', 'p99 (ms)'], [...byStep(ready.docs, 'do'), ...byStep(released.docs, 'undo')]),
    '',
    table(['recovery of a crashed allocation', 'value'], [
      ['crashes (SIGKILL after converge)', recoveries.length],
      ['death to rolled back, p50', `${(percentile(recoveries, 50) / 1000).toFixed(2)} s`],
      ['death to rolled back, max', `${(Math.max(...recoveries) / 1000).toFixed(2)} s`],
      ['bound (2 × lease)', `${((2 * LEASE_MS) / 1000).toFixed(2)} s`],
    ]),
  ].join('\n');
}

const database = await startEmbeddedDatabase();
const procs: Proc[] = [];
try {
  const replicas = [await startController('alloc-1', database.url, env), await startController('alloc-2', database.url, env)];
  procs.push(...replicas);
  const upstream = startProcess('upstream', sampleUpstream, ['upstream', '0'], {});
  procs.push(upstream);
  const upstreamUrl = `http://127.0.0.1:${String((await logLine(upstream, 'sample upstream listening')).port)}`;
  await setUp(replicas[0]?.adminUrl ?? '', upstreamUrl);
  for (let i = 0; i < RUNTIMES; i++) procs.push(await startRuntime(`runtime-${i + 1}`, replicas[i % 2]?.xds ?? ''));
  await eventually(async () => {
    const runtimes = (await admin(replicas[0]?.adminUrl ?? '', 'GET', '/v1/runtimes')).body as { items: { connected: boolean }[] };
    if (runtimes.items.filter((r) => r.connected).length < RUNTIMES) throw new Error('runtimes not all connected');
  }, { timeoutMs: 60_000 });

  const tenants = Array.from({ length: GATEWAYS }, (_, i) => `tenant-${i + 1}`);
  const ready = await phase(tenants, replicas, async (r, tenant) => (await admin(r.adminUrl, 'POST', '/v1/gateway-pools/bench/allocations', { tenant })).body as AllocationDoc, 'ready');
  const released = await phase(ready.docs.map((d) => d.id), replicas, async (r, id) => (await admin(r.adminUrl, 'DELETE', `/v1/allocations/${id}`)).body as AllocationDoc, 'released');
  const recoveries: number[] = [];
  for (let n = 1; n <= CRASHES; n++) recoveries.push(await crashOnce(database.url, replicas[0] as ControllerProc, procs, n));

  const output = report(ready, released, recoveries);
  console.log(output);
  if (REPORT === 'docs') await writeSection('allocation', 'npm run bench:allocation', output);
} finally {
  for (const proc of procs.reverse()) await proc.stop();
  await database.stop();
}
