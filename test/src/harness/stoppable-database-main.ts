import { startEmbeddedDatabase } from '@causeway/controller';

/**
 * An embedded PostgreSQL whose server can be stopped and started again on the same port
 * and data, in a process of its own (its package takes over exit and signals). Prints one
 * JSON line per event; SIGUSR1 stops the server, SIGUSR2 starts it, SIGTERM ends all.
 *
 *   node stoppable-database-main.ts DATA_DIR
 */
const dataDir = process.argv[2];
const database = await startEmbeddedDatabase(dataDir === undefined ? {} : { dataDir });
const say = (msg: string): void => void process.stdout.write(`${JSON.stringify({ msg, url: database.url })}\n`);
const fail = (error: unknown): void => void process.stderr.write(`${String(error)}\n`);
process.on('SIGUSR1', () => database.stop().then(() => say('database stopped'), fail));
process.on('SIGUSR2', () => database.restart().then(() => say('database started'), fail));
// While the server is stopped nothing else keeps this process alive.
setInterval(() => undefined, 60_000);
say('database ready');
