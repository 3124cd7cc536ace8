// What a chain of undici interceptors costs a proxy per request, against one dispatch
// handler doing the same work (the runtime's ProxyExchange is such a handler):
//
//   node test/bench/dispatch-handler.ts                        the comparison (prints a table)
//   node test/bench/dispatch-handler.ts proxy <peer> <origin>  one proxy process (started by the comparison)
//   node --expose-gc test/bench/dispatch-handler.ts layering   the dispatch path alone (started by the comparison)
//
// Every peer is a pass-through like bench:proxy's bare undici one, and does per request
// what the runtime's stages do at least: count an attempt for the retry budget, time it for
// the metrics, record its outcome for outlier detection, and decide on a retry. `handler`
// does it in one DispatchHandler; `interceptors` as three interceptors composed on the
// pool, each wrapping the handler of every request; `undici-retry` puts undici's own retry
// interceptor in place of ours. Measured: CPU of the proxy process per request.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Pool, interceptors, type Dispatcher } from 'undici';
import { ResponseWriter } from './proxy-peers.ts';
import { startNodePeer } from './proxy-servers.ts';
import { cpuMsOf, logLine, startProcess, table, type Proc } from './lib.ts';

const peers = ['handler', 'interceptors', 'undici-retry'] as const;
type Peer = (typeof peers)[number];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const IN_FLIGHT = 64;
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade', 'proxy-connection', 'host']);

/** What the stages keep: plain numbers, as the runtime keeps them on the hot path. */
const stats = { attempts: 0, retries: 0, failures: 0, successes: 0, durationMs: 0 };

/** The last handler of every peer: the bare pass-through's, which writes the upstream's answer to the client. */
const Writer = ResponseWriter;

/** One handler doing every stage's work, as ProxyExchange does. */
class Exchange extends Writer {
  private startedAt = performance.now();
  override onRequestStart(): void {
    stats.attempts++;
    this.startedAt = performance.now();
  }
  override onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (status >= 502 && status <= 504) stats.retries++;
    else stats.successes++;
    super.onResponseStart(controller, status, headers);
  }
  override onResponseEnd(): void {
    stats.durationMs += performance.now() - this.startedAt;
    super.onResponseEnd();
  }
  override onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    stats.failures++;
    super.onResponseError(controller, error);
  }
}

/** An interceptor's handler: passes every callback on, doing its stage's work on the way. */
class Stage implements Dispatcher.DispatchHandler {
  private readonly next: Dispatcher.DispatchHandler;
  private readonly onStart: () => void;
  private readonly onStatus: (status: number) => void;
  private readonly onEnd: () => void;
  constructor(next: Dispatcher.DispatchHandler, onStart = (): void => undefined, onStatus = (_status: number): void => undefined, onEnd = (): void => undefined) {
    this.next = next;
    this.onStart = onStart;
    this.onStatus = onStatus;
    this.onEnd = onEnd;
  }
  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.onStart();
    this.next.onRequestStart?.(controller, context);
  }
  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, message: string): void {
    this.onStatus(status);
    this.next.onResponseStart?.(controller, status, headers, message);
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.next.onResponseData?.(controller, chunk);
  }
  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.onEnd();
    this.next.onResponseEnd?.(controller, trailers);
  }
  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    stats.failures++;
    this.next.onResponseError?.(controller, error);
  }
}

const budget: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) => dispatch(options, new Stage(handler, () => stats.attempts++));
const metrics: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) => {
  let startedAt = 0;
  return dispatch(options, new Stage(handler, () => (startedAt = performance.now()), undefined, () => (stats.durationMs += performance.now() - startedAt)));
};
const outcomes: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) =>
  dispatch(options, new Stage(handler, undefined, (status) => (status >= 502 && status <= 504 ? stats.retries++ : stats.successes++)));

function proxy(peer: Peer, origin: string): (req: IncomingMessage, res: ServerResponse) => void {
  const pool = new Pool(origin);
  const dispatcher: Dispatcher = peer === 'handler' ? pool : peer === 'interceptors' ? pool.compose(budget, metrics, outcomes) : pool.compose(interceptors.retry({ maxRetries: 2 }), metrics, outcomes);
  return (req, res) => {
    const headers: string[] = [];
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] ?? '';
      if (!hopByHop.has(name.toLowerCase())) headers.push(name, raw[i + 1] ?? '');
    }
    const handler = peer === 'handler' ? new Exchange(res) : new Writer(res);
    dispatcher.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers, body: null }, handler);
  };
}

/** Keeps IN_FLIGHT requests going to `origin` for `seconds`; the number answered. */
async function load(origin: string, seconds: number): Promise<number> {
  const client = new Pool(origin, { connections: IN_FLIGHT });
  const until = performance.now() + seconds * 1_000;
  let answered = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const response = await client.request({ path: '/', method: 'GET' });
      await response.body.dump();
      if (response.statusCode === 200) answered++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await client.close();
  return answered;
}

const noop = (): void => undefined;
const controller = { pause: noop, resume: noop, abort: noop, paused: false, aborted: false, reason: null, rawTrailers: null } as unknown as Dispatcher.DispatchController;
const chunk = Buffer.alloc(1024);
const responseHeaders: IncomingHttpHeaders = { 'content-type': 'application/json', 'content-length': '1024' };
/** A dispatcher that answers at once, in the call: what is left is the cost of the handlers themselves. */
const answerAtOnce: Dispatcher.Dispatch = (_options, handler) => {
  handler.onRequestStart?.(controller, {});
  handler.onResponseStart?.(controller, 200, responseHeaders, 'OK');
  handler.onResponseData?.(controller, chunk);
  handler.onResponseEnd?.(controller, {});
  return true;
};
/** A response that writes nothing, so only the dispatch path is measured. */
const sink = { headersSent: false, writeHead: () => sink, write: () => true, end: noop, destroy: noop, once: noop } as unknown as ServerResponse;

/** The dispatch path alone, each peer's handlers around a dispatcher that answers at once: ns and heap bytes per request. */
function dispatchPath(peer: Peer, requests: number): { ns: number; bytes: number } {
  const composed = peer === 'handler' ? answerAtOnce : [outcomes, metrics, budget].reduce((dispatch, interceptor) => interceptor(dispatch), answerAtOnce);
  const options: Dispatcher.DispatchOptions = { path: '/', method: 'GET', headers: [] };
  // Run with --expose-gc: collected first, so that the requests' garbage is what the heap grows by.
  (globalThis as { gc?: () => void }).gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  for (let i = 0; i < requests; i++) composed(options, peer === 'handler' ? new Exchange(sink) : new Writer(sink));
  const ns = ((performance.now() - started) * 1e6) / requests;
  return { ns, bytes: (process.memoryUsage().heapUsed - heapBefore) / requests };
}

/** 20 rounds per peer, after a warm-up: time on a million requests, heap growth on 10,000 (too few for a collection). */
function layering(): void {
  const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  const rows = (['handler', 'interceptors'] as const).map((peer) => {
    dispatchPath(peer, 1_000_000);
    const ns = median(Array.from({ length: 20 }, () => dispatchPath(peer, 1_000_000).ns));
    const bytes = median(Array.from({ length: 20 }, () => dispatchPath(peer, 10_000).bytes));
    return [peer, ns, Math.round(bytes)];
  });
  console.log('\nThe dispatch path alone: the same handlers around a dispatcher that answers in the call (no sockets, nothing written); medians of 20 rounds.');
  console.log(table(['peer', 'ns/request', 'heap bytes/request'], rows));
}

async function compare(): Promise<void> {
  const upstream = await startNodePeer('upstream');
  const started: { peer: Peer; proc: Proc; origin: string }[] = [];
  for (const peer of peers) {
    const proc = startProcess(`bench-${peer}`, fileURLToPath(import.meta.url), ['proxy', peer, upstream.origin], {});
    const listening = await logLine(proc, 'listening');
    started.push({ peer, proc, origin: `http://127.0.0.1:${String(listening.port)}` });
  }
  const cpu = new Map<Peer, number[]>(peers.map((p) => [p, []]));
  const rate = new Map<Peer, number[]>(peers.map((p) => [p, []]));
  for (const { origin } of started) await load(origin, 1); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const { peer, proc, origin } of started) {
      const before = await cpuMsOf(proc.child.pid);
      const answered = await load(origin, SECONDS);
      const used = (await cpuMsOf(proc.child.pid)) - before;
      cpu.get(peer)?.push((used * 1_000) / answered);
      rate.get(peer)?.push(answered / SECONDS);
    }
  }
  const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  const base = median(cpu.get('handler') ?? []);
  console.log(`GET 1 KiB through each proxy, ${IN_FLIGHT} in flight, ${SECONDS} s per run, ${ROUNDS} rounds taking turns; medians. Node ${process.version}.`);
  console.log(
    table(
      ['peer', 'req/s', 'CPU µs/req', '× one handler', 'CPU µs/req per round'],
      peers.map((peer) => {
        const values = cpu.get(peer) ?? [];
        return [peer, Math.round(median(rate.get(peer) ?? [])), median(values), `${(median(values) / base).toFixed(2)}×`, values.map((v) => v.toFixed(1)).join(' ')];
      }),
    ),
  );
  for (const { proc } of started) proc.child.kill();
  upstream.proc.child.kill();
  const micro = startProcess('bench-layering', fileURLToPath(import.meta.url), ['layering'], { NODE_OPTIONS: '--expose-gc' });
  await new Promise((resolve) => micro.child.once('exit', resolve));
  console.log(micro.head.join('\n'));
}

const [role, peer, origin] = process.argv.slice(2);
if (role === 'layering') {
  layering();
} else if (role === 'proxy' && (peers as readonly string[]).includes(peer ?? '') && origin !== undefined) {
  const server = createServer(proxy(peer as Peer, origin));
  server.keepAliveTimeout = 120_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(JSON.stringify({ msg: 'listening', port: typeof address === 'object' && address !== null ? address.port : 0 }));
  });
} else {
  await compare();
}
