// npm run bench:failover: what a dead pool member costs the traffic through a runtime.
//
// One controller, one runtime, one API on a pool of 3 sample upstreams, everything with
// the defaults an operator gets. Every phase runs its own steady GET load through the
// runtime (RATE requests/s, at most CONCURRENCY in flight, each answered after DELAY_MS,
// so that a member has requests in flight when it dies): a reference with every member
// alive (and the same load straight to one upstream), one member SIGKILLed, the same one
// brought back on its port, and every member killed. Times of the runtime's verdicts come
// from its `member state changed` log lines; the control plane's from polling the pool.
import { setTimeout as sleep } from 'node:timers/promises';
import { startEmbeddedDatabase } from '@causeway/controller';
import { eventually } from '../src/harness/eventually.ts';
import { epochNow, startLoad, type LoadSample } from '../src/harness/load.ts';
import { admin, logLine, percentile, sampleUpstream, startController, startProcess, startRuntime, table, type Proc, type RuntimeProc } from './lib.ts';
import { writeSection } from './report.ts';

/** Requests per second; 0: as fast as CONCURRENCY loops go. */
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
/** How long the upstreams take to answer each request. */
const DELAY_MS = Number(process.env.BENCH_UPSTREAM_DELAY_MS ?? 20);
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 10_000);
/** The window after a kill whose latency is compared with the reference. */
const WINDOW_MS = 2_000;

interface Upstream {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly proc: Proc;
}

interface StateChange {
  readonly at: number;
  readonly member: string;
  readonly to: string;
  readonly reason: string;
}

async function startUpstream(name: string, port = 0): Promise<Upstream> {
  const proc = startProcess(name, sampleUpstream, [name, String(port)], {});
  const listening = await logLine(proc, 'sample upstream listening');
  const actual = Number(listening.port);
  return { name, port: actual, url: `http://127.0.0.1:${actual}`, proc };
}

/** SIGKILL, as when a machine dies; returns when it was sent. */
function kill(upstream: Upstream): { at: number; exited: Promise<void> } {
  const at = epochNow();
  return { at, exited: upstream.proc.stop() };
}

/** The runtime's member state changes, from its log. */
function watchStates(runtime: RuntimeProc): StateChange[] {
  const changes: StateChange[] = [];
  runtime.onLine((line) => {
    if (!line.includes('"member state changed"')) return;
    const entry = JSON.parse(line) as { time: string; member: string; to: string; reason: string };
    changes.push({ at: Date.parse(entry.time), member: entry.member, to: entry.to, reason: entry.reason });
  });
  return changes;
}

/** Runs the load until `during` resolves (and for at least `minMs`), returning every request. */
async function underLoad(url: string, minMs: number, during: (samples: readonly LoadSample[]) => Promise<void>): Promise<LoadSample[]> {
  const samples: LoadSample[] = [];
  const load = startLoad(url, { concurrency: CONCURRENCY, ...(RATE > 0 && { ratePerSecond: RATE }), maxRequests: Number.POSITIVE_INFINITY, onSample: (s) => samples.push(s) });
  await Promise.all([during(samples), sleep(minMs)]);
  await load.stop();
  return samples;
}

/** The runtime's retries (by reason), retries refused by the budget, and 503 no_healthy_upstream answers. */
async function runtimeCounters(runtimeAdmin: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${runtimeAdmin}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^causeway_runtime_(retries_total|retry_budget_exhausted_total|no_healthy_upstream_total)\{([^}]*)\} (\S+)$/gm)) {
    const reason = /reason="([^"]+)"/.exec(match[2] ?? '')?.[1];
    const key = match[1] === 'retries_total' ? `retry after ${reason ?? '?'}` : (match[1] ?? '');
    counts.set(key, (counts.get(key) ?? 0) + Number(match[3]));
  }
  return counts;
}

/** What a counter of `runtimeCounters` grew by. */
function grew(before: Map<string, number>, after: Map<string, number>, key: string): number {
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}

function retriesSpent(before: Map<string, number>, after: Map<string, number>): string {
  const parts = [...after.keys()].filter((key) => key.startsWith('retry after ')).map((key) => [key, grew(before, after, key)] as const).filter(([, n]) => n > 0);
  const retries = parts.length === 0 ? 'none' : parts.map(([key, n]) => `${n} ${key}`).join(', ');
  return `${retries}; ${grew(before, after, 'retry_budget_exhausted_total')} refused by the retry budget`;
}

function failures(samples: readonly LoadSample[], ok = (s: LoadSample) => s.outcome === 200): string {
  const kinds = new Map<string, number>();
  for (const s of samples) {
    if (ok(s)) continue;
    const kind = s.errorCode === undefined ? String(s.outcome) : `${s.outcome} ${s.errorCode}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return kinds.size === 0 ? '0' : [...kinds].map(([kind, n]) => `${n} × ${kind}`).join(', ');
}

/** A latency row: requests, failures, percentiles, achieved rate. */
function latencyRow(name: string, samples: readonly LoadSample[], ok?: (s: LoadSample) => boolean): (string | number)[] {
  const ms = samples.map((s) => s.ms);
  const first = samples.reduce((min, s) => Math.min(min, s.sentAt), Number.POSITIVE_INFINITY);
  const last = samples.reduce((max, s) => Math.max(max, s.sentAt + s.ms), 0);
  const ms2 = (v: number): string => v.toFixed(2);
  const max = ms.reduce((a, b) => Math.max(a, b), 0);
  return [name, samples.length, failures(samples, ok), ms2(percentile(ms, 50)), ms2(percentile(ms, 99)), ms2(percentile(ms, 99.9)), ms2(max), Math.round(samples.length / ((last - first) / 1000))];
}

/** Requests in flight at some moment of [from, to). */
function overlapping(samples: readonly LoadSample[], from: number, to: number): LoadSample[] {
  return samples.filter((s) => s.sentAt < to && s.sentAt + s.ms > from);
}

const p99 = (samples: readonly LoadSample[]): number => percentile(samples.map((s) => s.ms), 99);

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

const database = await startEmbeddedDatabase();
const procs: Proc[] = [];
try {
  const controller = await startController('failover-controller', database.url);
  procs.push(controller);
  const upstreams = await Promise.all(['upstream-1', 'upstream-2', 'upstream-3'].map((name) => startUpstream(name)));
  procs.push(...upstreams.map((u) => u.proc));
  const members = upstreams.map((_, i) => `gw-${i + 1}`);
  for (const [i, u] of upstreams.entries()) await admin(controller.adminUrl, 'PUT', `/v1/gateways/${members[i] ?? ''}`, { spec: { url: u.url } });
  await admin(controller.adminUrl, 'PUT', '/v1/gateway-pools/pool', { spec: { members } });
  await admin(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { pool: 'pool' } } });
  const runtime = await startRuntime('failover-runtime', controller.xds);
  procs.push(runtime);
  const states = watchStates(runtime);
  const url = `${runtime.proxyUrl}/orders/?delayMs=${DELAY_MS}`;
  const seen = new Set<string>();
  await eventually(async () => {
    const response = await fetch(url);
    await response.arrayBuffer();
    seen.add(response.headers.get('x-upstream') ?? '');
    if (seen.size < 3) throw new Error(`served by ${[...seen].join(', ')} only`);
  }, { timeoutMs: 30_000 });
  await underLoad(url, 15_000, async () => undefined); // warm-up: connections, JIT, the start-up work of a fresh database and controller

  const poolMember = async (gateway: string): Promise<string> => {
    const pool = (await admin(controller.adminUrl, 'GET', '/v1/gateway-pools/pool')).body as { status: { members: { gateway: string; health: string }[] } };
    return pool.status.members.find((m) => m.gateway === gateway)?.health ?? 'missing';
  };
  /** Whether the member's active checks say it is up, having passed since they last failed. */
  const checksPassed = async (member: string): Promise<boolean> => {
    type Check = { verdict: string; successes: number } | null;
    const dump = (await (await fetch(`${runtime.adminUrl}/config`)).json()) as { clusters: { members: { name: string; activeCheck: Check }[] }[] };
    const check = dump.clusters.flatMap((c) => c.members).find((m) => m.name === member)?.activeCheck;
    return check?.verdict === 'pass' && check.successes > 0;
  };
  const stateChange = (member: string, after: number, to: (kind: string) => boolean) => eventually(() => {
    const change = states.find((c) => c.member === member && c.at >= Math.floor(after) && to(c.to));
    if (change === undefined) throw new Error(`the runtime did not log a state change of ${member}`);
    return change;
  }, { timeoutMs: 60_000 });

  // 1. Reference.
  const reference = await underLoad(url, PHASE_MS, async () => undefined);
  const direct = await underLoad(`${upstreams[1]?.url ?? ''}/?delayMs=${DELAY_MS}`, PHASE_MS / 2, async () => undefined);

  // 2. One member killed mid-run.
  const [victim] = upstreams as [Upstream, ...Upstream[]];
  const countersBefore = await runtimeCounters(runtime.adminUrl);
  let killAt = 0;
  let controlPlaneDownMs = Number.NaN;
  const killOne = await underLoad(url, PHASE_MS, async () => {
    await sleep(PHASE_MS / 3);
    const killed = kill(victim);
    killAt = killed.at;
    await killed.exited;
    await eventually(async () => {
      if ((await poolMember('gw-1')) !== 'unhealthy') throw new Error('the pool does not show gw-1 down');
    }, { timeoutMs: 30_000, intervalMs: 100 });
    controlPlaneDownMs = epochNow() - killAt;
  });
  const countersAfter = await runtimeCounters(runtime.adminUrl);
  const down = await stateChange('gw-1', killAt, (to) => to !== 'healthy');
  const window = overlapping(killOne, killAt, killAt + WINDOW_MS);
  const beforeKill = killOne.filter((s) => s.sentAt + s.ms <= killAt);
  const retried = [...countersAfter.keys()].filter((key) => key.startsWith('retry after ')).reduce((sum, key) => sum + grew(countersBefore, countersAfter, key), 0);
  const extraP99 = (base: readonly LoadSample[]): string => `${(p99(window) - p99(base)).toFixed(2)} ms`;

  // 3. The same member back on its port, with no control-plane action.
  let reviveAt = 0;
  let firstServedMs = Number.NaN;
  let checksPassMs = Number.NaN;
  const revive = await underLoad(url, PHASE_MS / 2, async (samples) => {
    await sleep(1_000);
    reviveAt = epochNow();
    procs.push((await startUpstream(victim.name, victim.port)).proc);
    const checksPass = eventually(async () => {
      if (!(await checksPassed('gw-1'))) throw new Error('the active checks of gw-1 do not pass yet');
      checksPassMs = epochNow() - reviveAt;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    const first = await eventually(() => {
      const sample = samples.find((s) => s.upstream === victim.name && s.sentAt >= reviveAt);
      if (sample === undefined) throw new Error(`${victim.name} has had no traffic yet`);
      return sample;
    }, { timeoutMs: 60_000, intervalMs: 20 });
    firstServedMs = first.sentAt - reviveAt;
    await checksPass;
    await sleep(2_000);
  });
  const back = await stateChange('gw-1', reviveAt, (to) => to === 'healthy');
  const revivedShare = revive.filter((s) => s.upstream === victim.name && s.sentAt >= back.at).length / revive.filter((s) => s.sentAt >= back.at).length;

  // 4. Every member killed.
  const alive = procs.filter((p) => p.name.startsWith('upstream-') && p.child.exitCode === null && p.child.signalCode === null);
  const before503 = await runtimeCounters(runtime.adminUrl);
  let killAllAt = 0;
  const killAll = await underLoad(url, PHASE_MS / 2, async () => {
    await sleep(1_000);
    killAllAt = epochNow();
    await Promise.all(alive.map((p) => p.stop()));
  });
  const after503 = await runtimeCounters(runtime.adminUrl);
  const allDown = Math.max(...(await Promise.all(members.map((m) => stateChange(m, killAllAt, (to) => to !== 'healthy')))).map((c) => c.at));
  const afterAllDown = killAll.filter((s) => s.sentAt >= allDown);
  const inFlightAtKill = killAll.filter((s) => s.sentAt < killAllAt && s.sentAt + s.ms > killAllAt);
  const beforeKnown = killAll.filter((s) => s.sentAt >= killAllAt && s.sentAt < allDown);
  const answers503 = killAll.filter((s) => s.outcome === 503).length;
  const body = await (await fetch(url)).json();

  const output = [
    `A pool of 3 sample upstreams behind one runtime, one API. Load in every phase: ${RATE > 0 ? `${RATE} GET/s` : 'GETs as fast as they go'}, at most ${CONCURRENCY} in flight, from one client process on the same machine; the upstreams answer each after ${DELAY_MS} ms.`,
    'Defaults throughout, as an operator gets them: gateway health check `GET /` every 5 s (±10 %), timeout 2 s, down after 3 failures, back after 2 passes;',
    'a refused connection marks a member unhealthy at once (its checks bring it back); outlier detection ejects after 5 consecutive failures, for 30 s;',
    '2 retries per request, each on another member (after a timeout or a 502/503/504 only within the retry budget, max(3, 20 % of requests in flight));',
    'controller health reports every 5 s and 200 ms after a change.',
    '',
    table(['phase', 'requests', 'failed', 'p50 (ms)', 'p99 (ms)', 'p99.9 (ms)', 'max (ms)', 'req/s'], [
      latencyRow('reference: 3 members alive', reference),
      latencyRow('reference: straight to one upstream', direct),
      latencyRow('one member SIGKILLed: whole phase', killOne),
      latencyRow('one member SIGKILLed: before the kill', beforeKill),
      latencyRow(`one member SIGKILLed: in flight during kill → +${WINDOW_MS / 1000} s`, window),
      latencyRow('member revived', revive),
      latencyRow('all killed: after the runtime knew (503 no_healthy_upstream expected)', afterAllDown, (s) => s.outcome === 503 && s.errorCode === 'no_healthy_upstream'),
    ]),
    '',
    table(['measure', 'value'], [
      ['failed requests, one member SIGKILLed', failures(killOne)],
      [`extra p99, kill → +${WINDOW_MS / 1000} s vs reference / vs before the kill`, `${extraP99(reference)} / ${extraP99(beforeKill)}`],
      ['kill → runtime marks it down (no more requests to it)', `${Math.max(0, down.at - killAt).toFixed(0)} ms (${down.to}: ${down.reason})`],
      ['kill → control plane shows it down (`GET /v1/gateway-pools/pool`)', seconds(controlPlaneDownMs)],
      ['retries spent on the dead member', retriesSpent(countersBefore, countersAfter)],
      ['revive → its active checks say it is up', seconds(checksPassMs)],
      ['revive → runtime marks it healthy', `${seconds(back.at - reviveAt)} (${back.reason})`],
      ['revive → first request served by it', seconds(firstServedMs)],
      ['its share of the traffic once healthy', `${(revivedShare * 100).toFixed(0)} %`],
      ['kill all → runtime knows every member is down', `${Math.max(0, allDown - killAllAt).toFixed(0)} ms`],
      ['kill all: answers to the requests in flight at the kill', `${inFlightAtKill.length}: ${failures(inFlightAtKill, () => false)}`],
      ['kill all: answers to the requests sent after the kill, before the runtime knew', `${beforeKnown.length}: ${failures(beforeKnown, () => false)}`],
      ['kill all: 503 answers / `no_healthy_upstream` counted by the runtime', `${answers503} / ${grew(before503, after503, 'no_healthy_upstream_total')}`],
      ['kill all: the 503 body', `\`${JSON.stringify(body)}\``],
    ]),
    '',
    down.to === 'ejected'
      ? 'The killed member had requests in flight: their connections were reset, 5 in a row, so outlier detection ejected it (30 s) before a new connection to it was refused. Its active checks then failed; once they pass again the ejection ends and it gets traffic (see [runtime.md](runtime.md#upstream-health)).'
      : 'The killed member was marked unhealthy by a refused connection; its active checks brought it back.',
    `The ${retried} requests retried after the kill took one more upstream round each (${DELAY_MS} ms and more): ${((retried / window.length) * 100).toFixed(1)} % of the window's requests, they set its p99.9 and max, and its p99 as far as they reach into the slowest 1 %.`,
    'Requests caught by the kill of every member (in flight, or sent on a connection a dead member left open before the runtime knew) reached a member that died and get a 502; every request after that gets the 503 at once.',
    'p99 on this shared 2-core machine varies by several ms between runs: read the extra p99 against both baselines.',
  ].join('\n');
  console.log(output);
  await writeSection('failover', 'npm run bench:failover', output);
} finally {
  for (const proc of procs.reverse()) await proc.stop();
  await database.stop();
}
