// npm run bench:proxy: the runtime's data plane side by side with what users would run
// instead, in one run on one machine.
//
// One upstream (Node.js, 1 KiB JSON, keep-alive) and, taking turns in every round: wrk
// straight to it, the Causeway runtime (one API → a pool of that upstream, configured
// through a controller, with health checks, retries, failover, metrics and logs on),
// nginx, HAProxy, a bare pass-through on undici's dispatch and a proxy on the http-proxy
// package. Then: a fixed request rate for latency, and a runtime holding 10,000 APIs
// against one holding 10 (each from its own controller and database).
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '@causeway/controller';
import { admin, mb, percentile, privateRssOf, rssOf, RUNTIME_NODE_OPTIONS, startController, startRuntime, table, waitHttp, type Proc } from './lib.ts';
import { coreLayout, findProgram, installHint, pin, runWrk, startHaproxy, startNginx, startNodePeer, type WrkOptions, type WrkResult } from './proxy-servers.ts';
import { configurePolicyLoads, type PolicyLoad } from './policy-bench.ts';
import { writeSection } from './report.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 10);
const APIS = Number(process.env.BENCH_APIS ?? 10_000);
/** A folder for a CPU profile of the runtime (`--cpu-prof`), written when the bench ends. */
const CPU_PROF = process.env.BENCH_CPU_PROF;
/** The upstream's process, moved off the tested core during latency runs of proxies. */
let upstreamPid: number | undefined;
const CONNECTIONS = 64;
const WARM_UP_SECONDS = 2;
const PATH = '/bench/items/42';
const RUNTIME = 'Causeway runtime';
const BARE = 'bare undici pass-through';

const log = (message: string): void => void process.stderr.write(`${new Date().toISOString()} ${message}\n`);

const wrk = findProgram('wrk', '--version');
if (wrk === undefined) {
  console.error(`wrk is needed (${installHint})`);
  process.exit(1);
}

const cores = coreLayout(cpus().length);

interface Peer {
  readonly name: string;
  readonly origin: string;
  /** The process that does the peer's work (for direct: the upstream), whose CPU time is measured. */
  readonly pid: number | undefined;
}

interface Measured {
  readonly median: WrkResult;
  readonly min: number;
  readonly max: number;
  readonly errors: number;
}

function summarize(runs: readonly WrkResult[]): Measured {
  const median = (pick: (r: WrkResult) => number): number => percentile(runs.map(pick), 50);
  const rates = runs.map((r) => r.requestsPerSecond);
  return {
    median: {
      requestsPerSecond: median((r) => r.requestsPerSecond),
      p50Ms: median((r) => r.p50Ms),
      p99Ms: median((r) => r.p99Ms),
      p999Ms: median((r) => r.p999Ms),
      errors: 0,
      cpuUsPerRequest: median((r) => r.cpuUsPerRequest),
    },
    min: Math.min(...rates),
    max: Math.max(...rates),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

/**
 * One wrk run against a peer. `isolated`: wrk and the upstream on the rest of the cores and
 * the proxy under test alone on its own core meanwhile (for direct, that core stays idle),
 * so the only difference from direct is the proxy's hop.
 */
async function measure(peer: Peer, path: string, options: WrkOptions, isolated: boolean): Promise<WrkResult> {
  const url = peer.origin + path;
  if (!isolated || cores === undefined) return runWrk(wrk as string, url, options);
  const placed: [number, string][] = [];
  if (upstreamPid !== undefined) placed.push([upstreamPid, cores.rest]);
  if (peer.pid !== undefined && peer.pid !== upstreamPid) placed.push([peer.pid, cores.tested]);
  for (const [pid, where] of placed) pin(pid, where);
  try {
    return await runWrk(wrk as string, url, { ...options, cores: cores.rest });
  } finally {
    for (const [pid] of placed) pin(pid, cores.all);
  }
}

/**
 * A warm-up of each peer (JIT, connection pools, heap growth), then ROUNDS rounds in which
 * the peers take turns. `isolated`: the peer under test has a core to itself (latency runs).
 */
async function compare(
  peers: readonly Peer[],
  path: string,
  options: Omit<WrkOptions, 'connections' | 'seconds'>,
  { seconds = SECONDS, isolated = false } = {},
): Promise<Map<string, Measured>> {
  const runs = new Map<string, WrkResult[]>(peers.map((peer) => [peer.name, []]));
  for (const peer of peers) await measure(peer, path, { ...options, connections: CONNECTIONS, seconds: WARM_UP_SECONDS }, isolated);
  for (let round = 0; round < ROUNDS; round++) {
    for (const peer of peers) {
      const result = await measure(peer, path, { ...options, connections: CONNECTIONS, seconds, pid: peer.pid }, isolated);
      runs.get(peer.name)?.push(result);
      log(`${peer.name} ${path}: ${Math.round(result.requestsPerSecond)} req/s, p99 ${result.p99Ms} ms`);
    }
  }
  return new Map([...runs].map(([name, list]) => [name, summarize(list)]));
}

async function createDatabase(url: string, name: string): Promise<string> {
  const sql = postgres(url, { onnotice: () => undefined });
  await sql.unsafe(`CREATE DATABASE ${name}`);
  await sql.end();
  const other = new URL(url);
  other.pathname = `/${name}`;
  return other.toString();
}

/** The benchmark API (`/bench`) and `apis - 1` others on the same pool, every runtime feature on, in one write. */
async function configure(adminUrl: string, upstream: string, apis: number): Promise<void> {
  const api = (name: string, basePath: string): unknown => ({
    kind: 'Api',
    metadata: { name },
    spec: { basePath, upstream: { pool: 'bench' }, retries: { attempts: 2 }, failover: { enabled: true } },
  });
  const items = [
    { kind: 'Gateway', metadata: { name: 'bench-gw' }, spec: { url: upstream, healthCheck: { path: '/health', intervalMs: 1000 } } },
    { kind: 'GatewayPool', metadata: { name: 'bench' }, spec: { members: ['bench-gw'] } },
    // Failover on, to a zone that is never needed while the local member is healthy.
    { kind: 'Zone', metadata: { name: 'backup' }, spec: { dtcUrl: upstream } },
    api('bench', '/bench'),
    ...Array.from({ length: apis - 1 }, (_, i) => api(`bench-${i + 1}`, `/bench-${i + 1}`)),
  ];
  await admin(adminUrl, 'POST', '/v1/apply', { items });
}

/** The runtime without policies and with each chain, taking turns: one row each. */
async function comparePolicies(runtime: Proc & { proxyUrl: string }, loads: readonly PolicyLoad[]): Promise<string[][]> {
  const pid = runtime.child.pid;
  const all = [{ label: 'none', path: PATH, headers: [] as readonly string[], target: undefined }, ...loads];
  const runs = new Map<string, WrkResult[]>(all.map((load) => [load.label, []]));
  for (const load of all) await runWrk(wrk as string, runtime.proxyUrl + load.path, { connections: CONNECTIONS, seconds: WARM_UP_SECONDS, headers: load.headers });
  for (let round = 0; round < ROUNDS; round++) {
    for (const load of all) {
      const result = await runWrk(wrk as string, runtime.proxyUrl + load.path, { connections: CONNECTIONS, seconds: SECONDS, pid, headers: load.headers });
      runs.get(load.label)?.push(result);
      log(`policies ${load.label}: ${Math.round(result.requestsPerSecond)} req/s`);
    }
  }
  const measured = new Map([...runs].map(([label, list]) => [label, summarize(list)]));
  const none = measured.get('none') as Measured;
  return all.map((load) => {
    const m = measured.get(load.label) as Measured;
    const share = m.median.requestsPerSecond / none.median.requestsPerSecond;
    const goal = load.target === undefined ? '-' : `≥ ${load.target.toFixed(2)}×: ${share >= load.target ? 'met' : 'not met'}`;
    return [load.label, ...rate(m), ratio(m.median.requestsPerSecond, none.median.requestsPerSecond), cpu(m), (m.median.cpuUsPerRequest - none.median.cpuUsPerRequest).toFixed(0), goal];
  });
}

function ratio(value: number, reference: number | undefined): string {
  return reference === undefined || reference === 0 ? '-' : `${(value / reference).toFixed(2)}×`;
}

const rps = (value: number): string => Math.round(value).toLocaleString('en');
const ms = (value: number): string => value.toFixed(2);

/** The median req/s (with the errors of all rounds, if any) and the rounds' range. */
function rate(m: Measured): string[] {
  return [rps(m.median.requestsPerSecond) + (m.errors > 0 ? ` (${m.errors} errors)` : ''), `${rps(m.min)}–${rps(m.max)}`];
}

function cpu(m: Measured): string {
  return Number.isFinite(m.median.cpuUsPerRequest) ? m.median.cpuUsPerRequest.toFixed(0) : '-';
}

function throughputRows(label: string, peers: readonly Peer[], results: ReadonlyMap<string, Measured>): string[][] {
  const reference = (name: string): number | undefined => results.get(name)?.median.requestsPerSecond;
  return peers.map((peer) => {
    const m = results.get(peer.name) as Measured;
    const value = m.median.requestsPerSecond;
    return [label, peer.name, ...rate(m), ratio(value, reference('nginx')), ratio(value, reference(BARE)), ratio(value, reference('direct')), cpu(m)];
  });
}

function latencyRows(peers: readonly Peer[], fixed: ReadonlyMap<string, Measured>): string[][] {
  const direct = fixed.get('direct')?.median.p99Ms ?? Number.NaN;
  return peers.map((peer) => {
    const m = fixed.get(peer.name) as Measured;
    const { p50Ms, p99Ms, p999Ms } = m.median;
    return [peer.name, rate(m)[0] ?? '', ms(p50Ms), ms(p99Ms), ms(p999Ms), peer.name === 'direct' ? '-' : ms(p99Ms - direct), cpu(m)];
  });
}

function targetRows(
  main: ReadonlyMap<string, Measured> | undefined,
  fixed: ReadonlyMap<string, Measured>,
  scale: ReadonlyMap<string, Measured>,
  manyRss: number,
): string[][] {
  const target = (label: string, value: number, goal: number, unit: string, atMost = false): string[] => {
    if (!Number.isFinite(value)) return [label, '-', 'not measured'];
    return [label, `${value.toFixed(2)}${unit}`, (atMost ? value <= goal : value >= goal) ? 'met' : 'not met'];
  };
  const rpsOf = (results: ReadonlyMap<string, Measured> | undefined, name: string): number => results?.get(name)?.median.requestsPerSecond ?? Number.NaN;
  const p99Of = (name: string): number => fixed.get(name)?.median.p99Ms ?? Number.NaN;
  const ours = rpsOf(main, RUNTIME);
  const many = `${APIS.toLocaleString('en')} APIs`;
  return [
    target(`runtime ≥ 0.85× ${BARE} (GET 1 KiB)`, ours / rpsOf(main, BARE), 0.85, '×'),
    target('runtime ≥ 1.6× http-proxy (GET 1 KiB)', ours / rpsOf(main, 'http-proxy'), 1.6, '×'),
    target('stretch: runtime ≥ 0.5× nginx (GET 1 KiB)', ours / rpsOf(main, 'nginx'), 0.5, '×'),
    target(`p99 at ${RATE.toLocaleString('en')} req/s ≤ 2 ms over direct`, p99Of(RUNTIME) - p99Of('direct'), 2, ' ms', true),
    target(`${many} ≥ 0.95× the throughput with 10`, rpsOf(scale, many) / rpsOf(scale, '10 APIs'), 0.95, '×'),
    target(`runtime RSS with ${many} ≤ 250 MB`, manyRss / 1024 / 1024, 250, ' MB', true),
  ];
}

/** nginx, HAProxy (each skipped when not installed; returned) and the Node.js proxies, added to `peers`. */
async function startOthers(dir: string, upstream: string, peers: Peer[], procs: Proc[]): Promise<string[]> {
  const skipped: string[] = [];
  for (const [name, start] of [['nginx', startNginx], ['HAProxy', startHaproxy]] as const) {
    const program = findProgram(name.toLowerCase());
    if (program === undefined) {
      skipped.push(name);
      continue;
    }
    const server = await start(program, dir, upstream);
    procs.push(server.proc);
    peers.push({ name, origin: server.origin, pid: server.proc.child.pid });
  }
  for (const [name, mode] of [[BARE, 'undici'], ['http-proxy', 'http-proxy']] as const) {
    const server = await startNodePeer(mode, upstream);
    procs.push(server.proc);
    peers.push({ name, origin: server.origin, pid: server.proc.child.pid });
  }
  return skipped;
}

const dir = await mkdtemp(join(tmpdir(), 'causeway-bench-proxy-'));
const procs: Proc[] = [];
let database: EmbeddedDatabase | undefined;
try {
  const upstream = await startNodePeer('upstream');
  procs.push(upstream.proc);
  upstreamPid = upstream.proc.child.pid;
  database = await startEmbeddedDatabase();
  const manyUrl = await createDatabase(database.url, 'bench_many');
  const few = await startController('bench-controller', database.url);
  procs.push(few);
  const many = await startController('bench-controller-many', manyUrl);
  procs.push(many);
  await configure(few.adminUrl, upstream.origin, 10);
  const policyLoads = await configurePolicyLoads(few.adminUrl, PATH);
  log(`creating ${APIS.toLocaleString('en')} APIs on the second controller`);
  await configure(many.adminUrl, upstream.origin, APIS);
  const profileEnv = CPU_PROF === undefined ? {} : { NODE_OPTIONS: `${RUNTIME_NODE_OPTIONS} --cpu-prof --cpu-prof-dir=${CPU_PROF}` };
  const runtime = await startRuntime('bench-runtime', few.xds, undefined, profileEnv);
  procs.push(runtime);
  const runtimeMany = await startRuntime('bench-runtime-many', many.xds);
  procs.push(runtimeMany);
  await waitHttp(`${runtime.proxyUrl}${PATH}`);
  await waitHttp(`${runtimeMany.proxyUrl}/bench-${APIS - 1}/`, 300_000);

  const peers: Peer[] = [
    { name: 'direct', origin: upstream.origin, pid: upstream.proc.child.pid },
    { name: RUNTIME, origin: runtime.proxyUrl, pid: runtime.child.pid },
  ];
  const skipped = await startOthers(dir, upstream.origin, peers, procs);
  if (skipped.length > 0) log(`skipped (not installed: ${installHint}): ${skipped.join(', ')}`);

  const loads = [
    { label: 'GET, 1 KiB response', path: PATH, options: {} },
    { label: 'GET, 100 KiB response', path: '/bench/items/big', options: {} },
    { label: 'POST 10 KiB, 1 KiB response', path: PATH, options: { bodyBytes: 10 * 1024 } },
  ];
  const throughput: string[][] = [];
  let main: Map<string, Measured> | undefined;
  for (const load of loads) {
    const results = await compare(peers, load.path, load.options);
    main ??= results;
    throughput.push(...throughputRows(load.label, peers, results));
  }
  const policies = await comparePolicies(runtime, policyLoads);
  const fixed = await compare(peers, PATH, { rate: RATE }, { seconds: RATE_SECONDS, isolated: true });
  const scalePeers: Peer[] = [
    { name: '10 APIs', origin: runtime.proxyUrl, pid: runtime.child.pid },
    { name: `${APIS.toLocaleString('en')} APIs`, origin: runtimeMany.proxyUrl, pid: runtimeMany.child.pid },
  ];
  const scale = await compare(scalePeers, PATH, {}, { isolated: true });
  const memory = await Promise.all(scalePeers.map(async (peer) => ({ rss: await rssOf(peer.pid), private: await privateRssOf(peer.pid) })));
  const fewRps = scale.get('10 APIs')?.median.requestsPerSecond;
  const apis = scalePeers.map((peer, i) => {
    const m = scale.get(peer.name) as Measured;
    return [peer.name, ...rate(m), ratio(m.median.requestsPerSecond, fewRps), cpu(m), mb(memory[i]?.rss ?? 0), mb(memory[i]?.private ?? 0)];
  });

  const output = [
    `One upstream (Node.js, 1 KiB JSON, keep-alive; 100 KiB for the large response) on the same machine as every proxy and the load generator.`,
    `Load: \`wrk -t1 -c${CONNECTIONS}\`, ${SECONDS} s per run after a ${WARM_UP_SECONDS} s warm-up; in each of ${ROUNDS} rounds the peers take turns; medians of the rounds.`,
    'CPU µs/req: CPU time (user + system) of the proxy process per request (for direct: of the upstream), which depends less than req/s on what else the machine runs.',
    `wrk, the upstream and the proxy share the ${cpus().length} cores: the req/s of a proxy that needs little CPU (nginx, HAProxy) is bounded by the other two, so compare the proxies' own work by CPU µs/req.`,
    `Causeway runtime: started as deploy/ starts it (\`NODE_OPTIONS=${RUNTIME_NODE_OPTIONS}\`); one API on a pool of the upstream, configured through a controller; active health checks (1 s), outlier detection, 2 retries with a retry budget, zone failover enabled, metrics, JSON logs at \`info\`;`,
    'it sets X-Forwarded-For, -Proto, -Host and X-Request-Id (generated), and nginx and HAProxy are configured to do the same.',
    'nginx: 1 worker (`master_process off`), `proxy_pass` to an upstream block with `keepalive 64`, no access log. HAProxy: `nbthread 1`, `http-reuse always`, no log.',
    'Bare undici pass-through: `Pool.dispatch` per request, hop-by-hop headers dropped, nothing else. http-proxy: `createProxyServer` with a keep-alive agent.',
    ...(skipped.length > 0 ? [`Not installed, skipped: ${skipped.join(', ')} (\`${installHint}\`).`] : []),
    '',
    table(['load', 'peer', 'req/s', 'rounds min–max', '× nginx', '× bare undici', '× direct', 'CPU µs/req'], throughput),
    '',
    `Latency at a fixed ${RATE.toLocaleString('en')} req/s, ${RATE_SECONDS} s per run, ${CONNECTIONS} connections, GET 1 KiB. wrk has no fixed-rate mode and wrk2 is not packaged in Debian:`,
    'wrk-report.lua hands out send slots 1/rate apart to whichever connection is free, and wrk measures from writing a request to the end of its response.',
    `A request whose connection is still busy at its slot goes out late and is measured from then, so stalls longer than ${CONNECTIONS}/rate (${((CONNECTIONS / RATE) * 1000).toFixed(1)} ms) are under-counted; a held rate below ${RATE.toLocaleString('en')} would show it.`,
    cores === undefined
      ? `Nothing pinned (${cpus().length === 1 ? 'one core' : 'taskset not found'}): the peer under test shares the cores with wrk and the upstream.`
      : `wrk and the upstream run on ${cores.rest === '0' ? 'core 0' : `cores ${cores.rest}`} in every latency run, the proxy under test alone on core ${cores.tested} (\`taskset\`; for direct, core ${cores.tested} stays idle): the only difference from direct is the proxy's hop, and its latency does not depend on how the scheduler interleaves it with the load generator.`,
    '',
    table(['peer', 'req/s held', 'p50 (ms)', 'p99 (ms)', 'p99.9 (ms)', 'p99 over direct (ms)', 'CPU µs/req'], latencyRows(peers, fixed)),
    '',
    `Route lookup: the same runtime build, one holding 10 APIs and one holding ${APIS.toLocaleString('en')} (base paths \`/bench\`, \`/bench-1\` …), each from its own controller; GET 1 KiB to \`/bench\`, taking turns${cores === undefined ? '' : `, each alone on core ${cores.tested} as in the latency runs (a route lookup's cost, not the scheduler's interleaving, sets the ratio)`}. Memory after the runs.`,
    '',
    table(['runtime', 'req/s', 'rounds min–max', '× 10 APIs', 'CPU µs/req', 'RSS', 'private (RssAnon)'], apis),
    '',
    `Policies: the same runtime, one API per chain on the same pool, GET 1 KiB, taking turns with the API without policies; rate limits high enough never to refuse; one key or token for every request (a JWT's verification is kept, bounded, up to 60 s).`,
    '',
    table(['policies', 'req/s', 'rounds min–max', '× no policy', 'CPU µs/req', 'extra CPU µs/req', 'target'], policies),
    '',
    table(['target', 'measured', ''], targetRows(main, fixed, scale, memory[1]?.rss ?? 0)),
  ].join('\n');
  console.log(output);
  const overrides = ['BENCH_SECONDS', 'BENCH_ROUNDS', 'BENCH_RATE', 'BENCH_RATE_SECONDS', 'BENCH_APIS'].filter((name) => process.env[name] !== undefined);
  await writeSection('proxy', [...overrides.map((name) => `${name}=${process.env[name]}`), 'npm run bench:proxy'].join(' '), output);
  if (CPU_PROF !== undefined) {
    runtime.child.kill('SIGTERM');
    await new Promise((resolve) => runtime.child.once('exit', resolve));
    log(`runtime CPU profile written to ${CPU_PROF}`);
  }
} finally {
  await Promise.all(procs.map((proc) => proc.stop()));
  await database?.stop();
  await rm(dir, { recursive: true, force: true });
}
