import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./stoppable-database-main.ts', import.meta.url));

export interface StoppableDatabase {
  readonly url: string;
  /** Stops the server (clients are disconnected, new connections refused); the data stays. */
  stopServer(): Promise<void>;
  /** Starts it again on the same port and data. */
  startServer(): Promise<void>;
  /** Ends the process and removes the data. */
  close(): Promise<void>;
}

/** A PostgreSQL of its own, in a fresh folder under the temp dir, that a test may stop. */
export async function startStoppableDatabase(): Promise<StoppableDatabase> {
  const parent = await mkdtemp(join(tmpdir(), 'causeway-pg-'));
  await chmod(parent, 0o755);
  const child = spawn(process.execPath, [script, join(parent, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const waiters = new Map<string, () => void>();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      for (const [msg, resolve] of waiters) {
        if (!line.includes(`"msg":"${msg}"`)) continue;
        waiters.delete(msg);
        resolve();
      }
    });
  }
  const exited = once(child, 'exit');
  const next = (msg: string): Promise<void> =>
    Promise.race([
      new Promise<void>((resolve) => waiters.set(msg, resolve)),
      exited.then(() => {
        throw new Error(`the database process exited:\n${output.join('\n')}`);
      }),
    ]);
  await next('database ready');
  const ready = output.find((line) => line.includes('"msg":"database ready"')) ?? '{}';
  return {
    url: String((JSON.parse(ready) as { url?: string }).url),
    async stopServer() {
      const stopped = next('database stopped');
      child.kill('SIGUSR1');
      await stopped;
    },
    async startServer() {
      const started = next('database started');
      child.kill('SIGUSR2');
      await started;
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(parent, { recursive: true, force: true });
    },
  };
}
