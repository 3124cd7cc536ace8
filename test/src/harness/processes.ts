import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { eventually } from './eventually.ts';

const controllerMain = fileURLToPath(import.meta.resolve('@causeway/controller/main'));
const runtimeMain = fileURLToPath(import.meta.resolve('@causeway/runtime/main'));
const sampleUpstream = fileURLToPath(new URL('../../../controller/src/cli/sample-upstream.ts', import.meta.url));

export const TEST_TOKEN = 'test-admin-token-0123456789';

/** A Causeway process (or sample upstream) started for a test, with its output kept. */
export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly output: string[] = [];
  private readonly exited: Promise<unknown>;

  constructor(name: string, file: string, args: readonly string[], env: NodeJS.ProcessEnv) {
    this.name = name;
    this.child = spawn(process.execPath, [file, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream !== null) createInterface({ input: stream }).on('line', (line) => this.output.push(line));
    }
    this.exited = once(this.child, 'exit');
  }

  /** The first JSON log line with this `msg`, parsed (waits for it). */
  async logLine(msg: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    return eventually(() => {
      if (!this.running) throw new Error(`${this.name} exited (code ${this.child.exitCode})\n${this.tail()}`);
      for (const line of this.output) {
        if (!line.includes(`"msg":"${msg}"`)) continue;
        return JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
      }
      throw new Error(`${this.name} has not logged "${msg}"`);
    }, { timeoutMs, message: () => this.tail() });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines it printed, for a failure message. */
  tail(lines = 30): string {
    return `--- ${this.name} ---\n${this.output.slice(-lines).join('\n')}`;
  }

  /** SIGKILL: no clean-up at all, as when a machine dies. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

async function waitHttp(url: string, proc: ManagedProcess, timeoutMs = 20_000): Promise<void> {
  await eventually(async () => {
    if (!proc.running) throw new Error(`${proc.name} exited (code ${proc.child.exitCode})\n${proc.tail()}`);
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  }, { timeoutMs, message: () => proc.tail() });
}

export interface ControllerProcess extends ManagedProcess {
  readonly adminUrl: string;
  readonly xdsAddress: string;
  readonly id: string;
}

export interface RuntimeProcess extends ManagedProcess {
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly nodeId: string;
}

export interface UpstreamProcess extends ManagedProcess {
  readonly url: string;
  readonly port: number;
}

/** Every process a test started; `close()` in afterEach stops them all. */
export class Stack {
  readonly processes: ManagedProcess[] = [];

  /** A controller on ports the OS picks (read back from its log), ready when this resolves. */
  async controller(options: { databaseUrl: string; id?: string; env?: NodeJS.ProcessEnv }): Promise<ControllerProcess> {
    const id = options.id ?? `controller-${this.processes.length + 1}`;
    const proc = new ManagedProcess(id, controllerMain, [], {
      CAUSEWAY_DATABASE_URL: options.databaseUrl,
      CAUSEWAY_ADMIN_TOKEN: TEST_TOKEN,
      CAUSEWAY_ADMIN_ADDR: '127.0.0.1:0',
      CAUSEWAY_XDS_ADDR: '127.0.0.1:0',
      CAUSEWAY_CONTROLLER_ID: id,
      CAUSEWAY_LOG_LEVEL: 'info',
      // Tests of runtime identity give TLS files and CAUSEWAY_XDS_INSECURE=false.
      CAUSEWAY_XDS_INSECURE: 'true',
      ...options.env,
    });
    this.processes.push(proc);
    const ready = await proc.logLine('controller ready');
    const adminUrl = `http://${String(ready.admin)}`;
    await waitHttp(`${adminUrl}/readyz`, proc);
    return Object.assign(proc, { adminUrl, xdsAddress: String(ready.xds), id });
  }

  /** A runtime on the given ports, or on ports the OS picks (read back from its log). */
  async runtime(options: { controllers: readonly string[]; nodeId?: string; zone?: string; env?: NodeJS.ProcessEnv; ports?: { proxy: number; admin: number } }): Promise<RuntimeProcess> {
    const proxyPort = options.ports?.proxy ?? 0;
    const adminPort = options.ports?.admin ?? 0;
    const nodeId = options.nodeId ?? `runtime-${this.processes.length + 1}`;
    const proc = new ManagedProcess(nodeId, runtimeMain, [], {
      CAUSEWAY_CONTROLLERS: options.controllers.join(','),
      CAUSEWAY_LISTEN_ADDR: `127.0.0.1:${proxyPort}`,
      CAUSEWAY_RUNTIME_ADMIN_ADDR: `127.0.0.1:${adminPort}`,
      CAUSEWAY_NODE_ID: nodeId,
      CAUSEWAY_ZONE: options.zone ?? 'default',
      CAUSEWAY_LOG_LEVEL: 'info',
      // Plaintext unless the test gives the runtime TLS settings.
      ...(options.env?.CAUSEWAY_CA_CERT === undefined ? { CAUSEWAY_XDS_INSECURE: 'true' } : {}),
      ...options.env,
    });
    this.processes.push(proc);
    const started = await proc.logLine('runtime started');
    const adminUrl = `http://${String(started.admin)}`;
    await waitHttp(`${adminUrl}/healthz`, proc);
    return Object.assign(proc, { proxyUrl: `http://${String(started.proxy)}`, adminUrl, nodeId });
  }

  /**
   * A sample upstream on `port` (to bring one back where it was), or on one the OS picks;
   * on `host` (another loopback address, e.g. 127.0.0.2, lets a runtime deny it alone).
   */
  async upstream(name: string, port?: number, host = '127.0.0.1'): Promise<UpstreamProcess> {
    const proc = new ManagedProcess(name, sampleUpstream, [name, String(port ?? 0), host], {});
    this.processes.push(proc);
    const p = Number((await proc.logLine('sample upstream listening')).port);
    const url = `http://${host}:${p}`;
    await waitHttp(`${url}/`, proc);
    return Object.assign(proc, { url, port: p });
  }

  async close(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill()));
    this.processes.length = 0;
  }

  /** Everything every process printed, for a failure message. */
  tails(): string {
    return this.processes.map((p) => p.tail()).join('\n');
  }
}
