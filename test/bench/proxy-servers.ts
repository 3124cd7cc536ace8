// The processes `npm run bench:proxy` compares: the upstream, nginx, HAProxy, the Node.js
// peers of proxy-peers.ts, and wrk to load them.
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@causeway/controller';
import { cpuMsOf, logLine, startCommand, startProcess, waitHttp, type Proc } from './lib.ts';

const peersFile = fileURLToPath(new URL('./proxy-peers.ts', import.meta.url));
const wrkScript = fileURLToPath(new URL('./wrk-report.lua', import.meta.url));

export const installHint = 'apt-get install wrk nginx-light haproxy';

/** The path of a program, or undefined when it is not installed (sbin is often off PATH). */
export function findProgram(name: string, versionFlag = '-v'): string | undefined {
  for (const candidate of [name, `/usr/sbin/${name}`, `/usr/local/sbin/${name}`]) {
    const result = spawnSync(candidate, [versionFlag], { stdio: 'ignore' });
    if (result.error === undefined) return candidate;
  }
  return undefined;
}

/**
 * Cores for latency runs: the proxy under test alone on the last core, wrk and the
 * upstream on the others, so that its latency does not depend on how the scheduler
 * interleaves it with the load generator. Undefined (nothing pinned) with a single core
 * or without taskset (util-linux).
 */
export interface CoreLayout {
  /** The core of the proxy under test. */
  readonly tested: string;
  /** The cores of wrk and the upstream, as a taskset list. */
  readonly rest: string;
  /** Every core: where processes go back to after a latency run. */
  readonly all: string;
}

export function coreLayout(cores: number): CoreLayout | undefined {
  if (cores < 2 || findProgram('taskset', '-V') === undefined) return undefined;
  return { tested: String(cores - 1), rest: cores === 2 ? '0' : `0-${cores - 2}`, all: `0-${cores - 1}` };
}

/** Moves every thread of a process to the given cores. */
export function pin(pid: number, cores: string): void {
  const result = spawnSync('taskset', ['-a', '-pc', cores, String(pid)], { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`taskset -a -pc ${cores} ${pid} failed (${result.status})`);
}

export interface Server {
  readonly origin: string;
  readonly proc: Proc;
}

/** A Node.js peer of proxy-peers.ts: `upstream`, or a proxy mode towards `upstream`. */
export async function startNodePeer(mode: 'upstream' | 'undici' | 'http-proxy', upstream = ''): Promise<Server> {
  const proc = startProcess(`bench-${mode}`, peersFile, [mode, upstream], {});
  const listening = await logLine(proc, 'listening');
  const origin = `http://127.0.0.1:${String(listening.port)}`;
  await waitHttp(`${origin}/`);
  return { origin, proc };
}

/**
 * nginx, one worker, `proxy_pass` to an upstream block with a keep-alive pool, setting the
 * forwarding headers the runtime sets; no access log (the runtime writes none).
 */
export async function startNginx(program: string, dir: string, upstream: string): Promise<Server> {
  const port = await freePort();
  const prefix = join(dir, 'nginx');
  await mkdir(prefix, { recursive: true });
  await chmod(prefix, 0o777);
  const config = `
worker_processes 1;
master_process off;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream bench { server ${new URL(upstream).host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Request-Id $request_id;
      add_header X-Request-Id $request_id;
    }
  }
}
`;
  const file = join(prefix, 'nginx.conf');
  await writeFile(file, config);
  const proc = startCommand('bench-nginx', program, ['-p', prefix, '-c', file, '-e', join(prefix, 'error.log')], {});
  return serving(proc, `http://127.0.0.1:${port}`);
}

/** HAProxy, one thread, `http-reuse always`, the forwarding headers the runtime sets, no logging. */
export async function startHaproxy(program: string, dir: string, upstream: string): Promise<Server> {
  const port = await freePort();
  const config = `
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
  option forwardfor
frontend bench
  bind 127.0.0.1:${port}
  unique-id-format %[uuid()]
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header X-Request-Id %[unique-id]
  http-response set-header X-Request-Id %[unique-id]
  default_backend upstream
backend upstream
  server upstream ${new URL(upstream).host}
`;
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, config);
  const proc = startCommand('bench-haproxy', program, ['-db', '-f', file], {});
  return serving(proc, `http://127.0.0.1:${port}`);
}

async function serving(proc: Proc, origin: string): Promise<Server> {
  try {
    await waitHttp(`${origin}/`, 10_000);
  } catch (error) {
    await proc.stop();
    throw new Error(`${proc.name} did not start:\n${proc.tail.join('\n')}`, { cause: error });
  }
  return { origin, proc };
}

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** Socket errors, timeouts and statuses ≥ 400. */
  readonly errors: number;
  /** CPU time (user + system) of the measured process per request, when a pid was given. */
  readonly cpuUsPerRequest: number;
}

export interface WrkOptions {
  readonly connections: number;
  readonly seconds: number;
  /** Requests per second to hold; none: as fast as the connections go. */
  readonly rate?: number;
  /** POST bodies of this size; none: GET. */
  readonly bodyBytes?: number;
  /** The process whose CPU time to measure (the proxy, or the upstream for direct runs). */
  readonly pid?: number | undefined;
  /** The cores wrk runs on (a taskset list); none: any. */
  readonly cores?: string | undefined;
  /** Request headers (`Authorization: Bearer …`). */
  readonly headers?: readonly string[] | undefined;
}


/** One wrk run (one thread), its numbers read from the JSON line wrk-report.lua prints. */
export async function runWrk(program: string, url: string, options: WrkOptions): Promise<WrkResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.rate !== undefined) env.WRK_RATE = String(options.rate);
  if (options.bodyBytes !== undefined) env.WRK_BODY_BYTES = String(options.bodyBytes);
  const headers = (options.headers ?? []).flatMap((header) => ['-H', header]);
  const args = ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--timeout', '10s', ...headers, '-s', wrkScript, url];
  const cpuBefore = await cpuMsOf(options.pid);
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const [command, commandArgs] = options.cores === undefined ? [program, args] : ['taskset', ['-c', options.cores, program, ...args]];
    const child = spawn(command, commandArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
  const cpuUs = ((await cpuMsOf(options.pid)) - cpuBefore) * 1000;
  const line = output.split('\n').find((l) => l.startsWith('WRK_REPORT '));
  if (code !== 0 || line === undefined) throw new Error(`wrk ${args.join(' ')} failed (${code}):\n${output}`);
  const report = JSON.parse(line.slice('WRK_REPORT '.length)) as Record<string, number>;
  const n = (key: string): number => report[key] ?? 0;
  return {
    requestsPerSecond: n('requests') / (n('durationUs') / 1e6),
    p50Ms: n('p50Us') / 1000,
    p99Ms: n('p99Us') / 1000,
    p999Ms: n('p999Us') / 1000,
    errors: n('socketErrors') + n('statusErrors') + n('timeouts'),
    cpuUsPerRequest: options.pid === undefined || n('requests') === 0 ? Number.NaN : cpuUs / n('requests'),
  };
}
