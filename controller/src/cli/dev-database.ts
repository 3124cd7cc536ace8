import { startEmbeddedDatabase } from '../store/embedded-database.ts';

/**
 * The dev stack's PostgreSQL, in a process of its own (the embedded server's package
 * takes over the process's exit and signals). Prints one JSON line with the URL, and
 * stops the server on SIGINT or SIGTERM.
 *
 *   node dev-database.ts DATA_DIR
 */
const dataDir = process.argv[2];
const database = await startEmbeddedDatabase(dataDir === undefined ? {} : { dataDir });
process.stdout.write(`${JSON.stringify({ msg: 'database ready', url: database.url, dataDir: database.dataDir, port: database.port })}\n`);
