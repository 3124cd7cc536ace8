/** In-process runtimes and upstreams for integration tests, closed together by `close()`. */
import { Agent, request } from 'undici';
import { createLogger, formatAddress } from '@causeway/shared';
import { loadRuntimeConfig } from '../config.ts';
import { createRuntime, type Runtime, type RuntimeOverrides } from '../runtime.ts';
import { readBody, startUpstream, type Upstream } from './servers.ts';

const silent = createLogger('test', { level: 'silent' });

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** Milliseconds from sending the request to the end of the response. */
  readonly ms: number;
}

/** Where echo upstreams answer active health checks (not counted as hits). */
export const echoHealthPath = '/health';

/** An upstream that names itself and echoes what it received, counting its requests. */
export interface EchoUpstream extends Upstream {
  readonly name: string;
  /** Requests other than health checks. */
  hits: number;
  checks: number;
}

/** Runtimes here stream in plaintext unless a test gives them TLS settings. */
function tlsGiven(env: Record<string, string>): boolean {
  return env.CAUSEWAY_CA_CERT !== undefined || env.CAUSEWAY_XDS_INSECURE !== undefined;
}

export class RuntimeHarness {
  readonly agent = new Agent({ keepAliveTimeout: 1_000 });
  private readonly cleanups: (() => Promise<unknown>)[] = [];

  async runtime(env: Record<string, string> = {}, overrides: RuntimeOverrides = {}): Promise<Runtime> {
    const config = loadRuntimeConfig({
      CAUSEWAY_LISTEN_ADDR: '127.0.0.1:0',
      CAUSEWAY_RUNTIME_ADMIN_ADDR: '127.0.0.1:0',
      CAUSEWAY_ZONE: 'eu-1',
      CAUSEWAY_NODE_ID: 'test-runtime',
      ...(tlsGiven(env) ? {} : { CAUSEWAY_XDS_INSECURE: 'true' }),
      ...env,
    });
    const rt = createRuntime(config, { logger: silent, connectToControllers: false, shutdownGraceMs: 500, ...overrides });
    await rt.start();
    this.cleanups.push(() => rt.close());
    return rt;
  }

  async upstream(handler: Parameters<typeof startUpstream>[0], port?: number): Promise<Upstream> {
    const server = await startUpstream(handler, port);
    this.cleanups.push(() => server.close());
    return server;
  }

  /** An echo upstream; `port` restarts one where a closed one was. */
  async echo(name: string, port?: number, status = 200): Promise<EchoUpstream> {
    const counts = { name, hits: 0, checks: 0 };
    const server = await this.upstream(async (req, res) => {
      if (req.url === echoHealthPath) counts.checks++;
      else counts.hits++;
      await readBody(req);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers }));
    }, port);
    return Object.assign(counts, server);
  }

  async call(rt: Runtime, path: string, options: Parameters<typeof request>[1] = {}): Promise<Answer> {
    const started = performance.now();
    const res = await request(`http://${formatAddress(rt.proxyAddress)}${path}`, { dispatcher: this.agent, ...options });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, ms: performance.now() - started };
  }

  async close(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup();
    await this.agent.close();
  }
}

/** The value of one series of a runtime metric, 0 when absent. */
export async function metricValue(rt: Runtime, metric: keyof Runtime['metrics'], labels: Record<string, string> = {}): Promise<number> {
  const source = rt.metrics[metric];
  if (!('get' in source)) throw new Error(`${String(metric)} is not a metric`);
  const { values } = await source.get();
  let sum = 0;
  for (const value of values) {
    const have = value.labels as Record<string, unknown>;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += value.value;
  }
  return sum;
}
