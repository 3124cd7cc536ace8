// Shared pieces of the benchmark scripts: processes, log parsing, percentiles, tables.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const controllerMain = fileURLToPath(import.meta.resolve('@causeway/controller/main'));
const runtimeMain = fileURLToPath(import.meta.resolve('@causeway/runtime/main'));
export const sampleUpstream = fileURLToPath(new URL('../../controller/src/cli/sample-upstream.ts', import.meta.url));
export const TOKEN = 'bench-admin-token-0123456789';

export interface Proc {
  readonly child: ChildProcess;
  readonly name: string;
  /** The last lines it printed. */
  readonly tail: readonly string[];
  /** The first lines it printed (start-up). */
  readonly head: readonly string[];
  onLine(listener: (line: string) => void): void;
  stop(): Promise<void>;
}

export function startProcess(name: string, file: string, args: readonly string[], env: NodeJS.ProcessEnv): Proc {
  return startCommand(name, process.execPath, [file, ...args], env);
}

/** Any program (nginx, HAProxy), its output kept as for Node.js processes. */
export function startCommand(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const listeners: ((line: string) => void)[] = [];
  const tail: string[] = [];
  const head: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (head.length < 50) head.push(line);
      tail.push(line);
      if (tail.length > 20) tail.shift();
      for (const listener of listeners) listener(line);
    });
  }
  return {
    child,
    name,
    tail,
    head,
    onLine: (listener) => void listeners.push(listener),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** The first JSON log line with this `msg`, parsed. */
export async function logLine(proc: Proc, msg: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = proc.head.find((l) => l.includes(`"msg":"${msg}"`));
    if (line !== undefined) return JSON.parse(line) as Record<string, unknown>;
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited:\n${proc.tail.join('\n')}`);
    await sleep(20);
  }
  throw new Error(`${proc.name} did not log "${msg}" in ${timeoutMs} ms`);
}

/** When the process logged its first line with this `msg` (its own ms timestamp), if among its first lines. */
export function loggedAt(proc: Proc, msg: string): number | undefined {
  const line = proc.head.find((l) => l.includes(`"msg":"${msg}"`));
  return line === undefined ? undefined : Date.parse((JSON.parse(line) as { time: string }).time);
}

export async function waitHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready in ${timeoutMs} ms`);
}

export interface ControllerProc extends Proc {
  readonly adminUrl: string;
  readonly xds: string;
}

/**
 * Ports are picked by the OS and read back from the process's log; `main`: another tree's controller (a reference build).
 * Plaintext xDS unless `env` gives TLS: with `const pki = await TestPki.create()` (test/src/harness/pki.ts),
 * `startController(id, url, pki.controllerEnv())`, then runtimes with
 * `startRuntime(node, xds, onApplied, { CAUSEWAY_ZONE: zone, ...pki.runtimeEnv(token) })`, `token` from
 * `admin(url, 'POST', '/v1/runtime-tokens', { zone, org: null })` (one token serves any number of runtimes).
 */
export async function startController(id: string, databaseUrl: string, env: NodeJS.ProcessEnv = {}, main = controllerMain): Promise<ControllerProc> {
  const proc = startProcess(id, main, [], {
    CAUSEWAY_DATABASE_URL: databaseUrl,
    CAUSEWAY_ADMIN_TOKEN: TOKEN,
    CAUSEWAY_ADMIN_ADDR: '127.0.0.1:0',
    CAUSEWAY_XDS_ADDR: '127.0.0.1:0',
    CAUSEWAY_CONTROLLER_ID: id,
    CAUSEWAY_LOG_LEVEL: 'info',
    CAUSEWAY_DATABASE_POOL_SIZE: '20',
    CAUSEWAY_XDS_INSECURE: 'true',
    ...env,
  });
  const ready = await logLine(proc, 'controller ready');
  const adminUrl = `http://${String(ready.admin)}`;
  await waitHttp(`${adminUrl}/readyz`);
  return Object.assign(proc, { adminUrl, xds: String(ready.xds) });
}

export interface RuntimeProc extends Proc {
  readonly proxyUrl: string;
  readonly adminUrl: string;
}

/** Node.js options runtimes are started with in deploy/ (compose and Kubernetes): a bounded young generation. */
export const RUNTIME_NODE_OPTIONS = '--max-semi-space-size=16';

/**
 * A runtime, started with the Node.js options of deploy/, whose `config applied` log lines
 * (JSON, ms timestamps) are handed to `onApplied`; `env` adds to or overrides its environment.
 * One that does not start within `startTimeoutMs` is stopped.
 */
export async function startRuntime(
  nodeId: string,
  controllers: string,
  onApplied?: (revision: number, at: number, type: string) => void,
  env: NodeJS.ProcessEnv = {},
  startTimeoutMs = 60_000,
): Promise<RuntimeProc> {
  const proc = startProcess(nodeId, runtimeMain, [], {
    CAUSEWAY_CONTROLLERS: controllers,
    CAUSEWAY_LISTEN_ADDR: '127.0.0.1:0',
    CAUSEWAY_RUNTIME_ADMIN_ADDR: '127.0.0.1:0',
    CAUSEWAY_NODE_ID: nodeId,
    CAUSEWAY_LOG_LEVEL: 'info',
    NODE_OPTIONS: RUNTIME_NODE_OPTIONS,
    // Plaintext unless the caller gives the runtime TLS settings.
    ...(env.CAUSEWAY_CA_CERT === undefined ? { CAUSEWAY_XDS_INSECURE: 'true' } : {}),
    ...env,
  });
  if (onApplied !== undefined) {
    proc.onLine((line) => {
      if (!line.includes('"config applied"')) return;
      const entry = JSON.parse(line) as { time: string; revision: string; type: string };
      onApplied(Number(entry.revision), Date.parse(entry.time), entry.type);
    });
  }
  const started = await logLine(proc, 'runtime started', startTimeoutMs).catch(async (error: unknown) => {
    await proc.stop();
    throw error;
  });
  return Object.assign(proc, { proxyUrl: `http://${String(started.proxy)}`, adminUrl: `http://${String(started.admin)}` });
}

export async function admin(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Sum of a Prometheus metric's samples whose line starts with `prefix`. */
export async function metricSum(base: string, prefix: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** A size field of /proc/<pid>/status (VmRSS, RssAnon, …) in bytes; 0 when the process is gone. */
async function statusBytes(pid: number | undefined, field: string): Promise<number> {
  if (pid === undefined) return 0;
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

export function rssOf(pid: number | undefined): Promise<number> {
  return statusBytes(pid, 'VmRSS');
}

/** Resident memory not shared with other processes (heap, stacks; not the pages of the Node.js binary). */
export function privateRssOf(pid: number | undefined): Promise<number> {
  return statusBytes(pid, 'RssAnon');
}

/** CPU time (user and system, every thread) a process has used so far, in ms. */
export async function cpuMsOf(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces); utime and stime are the 12th and 13th, in 1/100 s.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(1)) : c)));
  const line = (r: readonly string[]): string => `| ${r.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...cells.map(line)].join('\n');
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

/** Runs `tasks` with at most `concurrency` at a time. */
export async function pool<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await task(items[i] as T, i);
      }
    }),
  );
}
