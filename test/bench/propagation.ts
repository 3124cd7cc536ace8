// npm run bench:propagation: commit-to-served time across two controller replicas.
//
// Two controllers, RUNTIMES runtimes (half on each), API changes through replica A at a
// steady rate and in a burst. "Served" is the moment a runtime logs that it applied a
// revision at or after the change. The reference, measured in the same run, is the bare
// PostgreSQL LISTEN/NOTIFY round trip: the floor for anything that crosses replicas.
import postgres from 'postgres';
import { startEmbeddedDatabase } from '@causeway/controller';
import { admin, metricSum, percentile, pool, startController, startRuntime, table, type RuntimeProc } from './lib.ts';
import { writeSection } from './report.ts';

const RUNTIMES = Number(process.env.BENCH_RUNTIMES ?? 50);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 500);
const RATE_PER_S = Number(process.env.BENCH_RATE ?? 20);
const APIS = 50;
const BURST_WRITERS = 16;

interface Applied {
  revision: number;
  at: number;
}

const database = await startEmbeddedDatabase();
const runtimes: RuntimeProc[] = [];
const stops: (() => Promise<void>)[] = [];
try {
  const [a, b] = await Promise.all([startController('replica-a', database.url), startController('replica-b', database.url)]);
  stops.push(a.stop, b.stop);
  await admin(a.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: 'http://127.0.0.1:9' } });
  for (let i = 0; i < APIS; i++) await admin(a.adminUrl, 'PUT', `/v1/apis/api-${i}`, { spec: { basePath: `/api-${i}`, upstream: { gateway: 'gw-1' } } });

  const applied: Applied[][] = [];
  const onA: boolean[] = [];
  for (let i = 0; i < RUNTIMES; i++) {
    const events: Applied[] = [];
    applied.push(events);
    onA.push(i % 2 === 0);
    runtimes.push(await startRuntime(`bench-rt-${i}`, i % 2 === 0 ? a.xds : b.xds, (revision, at, type) => type === 'api' && events.push({ revision, at })));
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

  const change = async (i: number): Promise<{ revision: number; at: number }> => {
    const response = await admin(a.adminUrl, 'PUT', `/v1/apis/api-${i % APIS}`, { spec: { basePath: `/api-${i % APIS}`, upstream: { gateway: 'gw-1' }, timeouts: { requestMs: 10_000 + (i % 1000) } } });
    return { revision: (response.body as { metadata: { revision: number } }).metadata.revision, at: Date.now() };
  };
  const bytes = async (): Promise<number> => (await metricSum(a.adminUrl, 'causeway_controller_xds_response_bytes_total')) + (await metricSum(b.adminUrl, 'causeway_controller_xds_response_bytes_total'));
  const apiResponses = async (): Promise<number> =>
    (await metricSum(a.adminUrl, 'causeway_controller_xds_responses_total{type="api"}')) + (await metricSum(b.adminUrl, 'causeway_controller_xds_responses_total{type="api"}'));

  const measure = async (commits: { revision: number; at: number }[]) => {
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

  let offset = 0;
  const phase = async (name: string, run: () => Promise<{ revision: number; at: number }[]>) => {
    const before = await bytes();
    const responsesBefore = await apiResponses();
    const startedAt = Date.now();
    const commits = await run();
    const seconds = (Date.now() - startedAt) / 1000;
    const result = await measure(commits);
    const sent = (await bytes()) - before;
    const responses = (await apiResponses()) - responsesBefore;
    return {
      name: `${name}: ${commits.length} changes in ${seconds.toFixed(1)} s (${Math.round(commits.length / seconds)}/s)`,
      ...result,
      bytesPerChangePerRuntime: sent / commits.length / RUNTIMES,
      responsesPerRuntime: responses / RUNTIMES,
    };
  };
  const steady = await phase('steady', async () => {
    const commits: { revision: number; at: number }[] = [];
    const start = Date.now();
    for (let i = 0; i < CHANGES; i++) {
      const due = start + (i * 1000) / RATE_PER_S;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      commits.push(await change(offset++));
    }
    return commits;
  });
  const burst = await phase(`burst (${BURST_WRITERS} writers)`, async () => {
    const commits: { revision: number; at: number }[] = [];
    await pool(Array.from({ length: CHANGES }, (_, i) => i), BURST_WRITERS, async () => void commits.push(await change(offset++)));
    return commits;
  });

  // Reference: PostgreSQL NOTIFY from one connection to a LISTEN on another.
  const listener = postgres(database.url, { max: 1, onnotice: () => undefined });
  const notifier = postgres(database.url, { max: 1, onnotice: () => undefined });
  const notifyLatencies: number[] = [];
  let pending: ((at: number) => void) | undefined;
  await listener.listen('bench_ref', () => pending?.(performance.now()));
  for (let i = 0; i < 500; i++) {
    const received = new Promise<number>((resolve) => (pending = resolve));
    const sentAt = performance.now();
    await notifier`SELECT pg_notify('bench_ref', ${String(i)})`;
    notifyLatencies.push((await received) - sentAt);
  }
  await listener.end();
  await notifier.end();

  const rows = [steady, burst].flatMap((p) => [
    [p.name, 'same replica', p.same.length, percentile(p.same, 50), percentile(p.same, 99), Math.round(p.bytesPerChangePerRuntime), Math.round(p.responsesPerRuntime)],
    [p.name, 'cross replica', p.cross.length, percentile(p.cross, 50), percentile(p.cross, 99), Math.round(p.bytesPerChangePerRuntime), Math.round(p.responsesPerRuntime)],
  ]);
  rows.push(['reference', 'PostgreSQL NOTIFY → LISTEN', notifyLatencies.length, percentile(notifyLatencies, 50), percentile(notifyLatencies, 99), '-', '-']);
  const output = [
    `${RUNTIMES} runtimes (half on each of 2 replicas), ${APIS} APIs, ${CHANGES} changes per phase, each through replica A.`,
    '',
    table(['phase', 'runtimes', 'samples', 'commit→served p50 (ms)', 'p99 (ms)', 'bytes pushed per change per runtime', 'API responses per runtime'], rows),
    '',
    'Served: the runtime logged that it applied a revision at or after the change. API responses per runtime: how many',
    'pushes carried the phase\'s changes to each runtime (fewer than changes when a burst is coalesced).',
  ].join('\n');
  console.log(output);
  await writeSection('propagation', 'npm run bench:propagation', output);
} finally {
  await Promise.all(runtimes.map((r) => r.stop()));
  for (const stop of stops) await stop();
  await database.stop();
}
