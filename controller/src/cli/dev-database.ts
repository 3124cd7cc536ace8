import { startEmbeddedDatabase } from '../store/embedded-database.ts';

/**
 * An embedded PostgreSQL in a process of its own (its package takes over the process's
 * exit and signals, so it must not live in a process whose exit code matters): for the
 * dev stack and the test suites. Prints one JSON line with the URL; SIGUSR2 restarts the
 * server (printing another line), SIGINT or SIGTERM stop it.
 *
 *   node dev-database.ts DATA_DIR
 */
const dataDir = process.argv[2];
const database = await startEmbeddedDatabase(dataDir === undefined ? {} : { dataDir });
const say = (msg: string): void => void process.stdout.write(`${JSON.stringify({ msg, url: database.url, dataDir: database.dataDir, port: database.port })}\n`);
process.on('SIGUSR2', () => {
  database.restart().then(
    () => say('database restarted'),
    (error: unknown) => process.stderr.write(`restart failed: ${String(error)}\n`),
  );
});
say('database ready');
