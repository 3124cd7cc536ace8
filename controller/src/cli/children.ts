import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatAddress, type Address } from '@causeway/shared';

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `node file args` with its output prefixed by `name`. */
export function startChild(
  name: string,
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
  options: { detached?: boolean } = {},
): Child {
  // A detached child does not get the terminal's Ctrl-C: it is stopped by us, last.
  const child = spawn(process.execPath, [file, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached === true });
  if (options.detached === true) process.once('exit', () => child.kill('SIGTERM'));
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => print(`[${name}] ${line}`));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 200 (or `timeoutMs` passes, or the child dies). */
export async function waitForHttp(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited with code ${child.process.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${child.name} did not become ready at ${url} within ${timeoutMs} ms`);
}

/**
 * Fails, naming the setting, when one of `addresses` is taken: otherwise a second stack
 * would wait on the first one's ports and talk to it with the wrong token.
 */
export async function assertAddressesFree(addresses: Readonly<Record<string, Address>>): Promise<void> {
  for (const [setting, address] of Object.entries(addresses)) {
    if (address.port === 0) continue;
    const problem = await new Promise<string | undefined>((resolve) => {
      const server = createServer();
      server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      server.listen(address.port, address.host, () => server.close(() => resolve(undefined)));
    });
    if (problem === 'EADDRINUSE') {
      const name = setting.split(' ')[0] ?? setting;
      throw new Error(`${setting}: ${formatAddress(address)} is in use (is another causeway dev running?); stop what listens there or set ${name} to a free ${name === 'CAUSEWAY_DEV_SAMPLE_PORT' ? 'port' : 'address'}`);
    }
    if (problem !== undefined) throw new Error(`${setting}: cannot listen on ${formatAddress(address)} (${problem})`);
  }
}
