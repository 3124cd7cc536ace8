import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../../controller/src/cli/dev-database.ts', import.meta.url));

export interface DatabaseProcess {
  readonly url: string;
  /** Stops and starts the server on the same port and data, as a primary restart would. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * An embedded PostgreSQL in its own process, in a fresh folder under the temp dir. Its
 * package hooks the exit of the process that loads it, so it is never loaded here.
 */
export async function startDatabaseProcess(): Promise<DatabaseProcess> {
  const parent = await mkdtemp(join(tmpdir(), 'causeway-pg-'));
  await chmod(parent, 0o755);
  const child = spawn(process.execPath, [script, join(parent, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const waiters: { msg: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      for (const waiter of [...waiters]) {
        if (!line.includes(`"msg":"${waiter.msg}"`)) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(JSON.parse(line) as Record<string, unknown>);
      }
    });
  }
  const exited = once(child, 'exit');
  const next = (msg: string): Promise<Record<string, unknown>> =>
    Promise.race([
      new Promise<Record<string, unknown>>((resolve) => waiters.push({ msg, resolve })),
      exited.then(() => {
        throw new Error(`the database process exited:\n${output.join('\n')}`);
      }),
    ]);
  const ready = await next('database ready');
  return {
    url: String(ready.url),
    async restart() {
      const restarted = next('database restarted');
      child.kill('SIGUSR2');
      await restarted;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(parent, { recursive: true, force: true });
    },
  };
}
