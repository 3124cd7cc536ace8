import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@causeway/shared';
import { connectDatabase, type Sql } from '../../../controller/src/store/database.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';

const log = createLogger('test', { level: 'silent' });

/**
 * A TCP relay in front of PostgreSQL that cuts a connection the moment the driver sends its
 * array-type query (the first statement of every new connection), as a server restart
 * landing on a connection still starting up does.
 */
class Relay {
  typeQueries = 0;
  /** How many of the next type queries cut their connection. */
  cuts = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer();

  static async start(target: URL): Promise<Relay> {
    const relay = new Relay();
    relay.server.on('connection', (client) => relay.relay(client, target));
    relay.server.listen(0, '127.0.0.1');
    await once(relay.server, 'listening');
    return relay;
  }

  private relay(client: Socket, target: URL): void {
    const upstream = createConnection(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    }
    client.on('data', (chunk: Buffer) => {
      if (chunk.includes('typarray')) {
        this.typeQueries += 1;
        if (this.cuts > 0) {
          this.cuts -= 1;
          // A reset, as the driver sees when the server process is gone.
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
  }

  url(database: URL): string {
    const url = new URL(database);
    const address = this.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('the relay is not listening');
    url.hostname = '127.0.0.1';
    url.port = String(address.port);
    return url.toString();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }
}

describe('database connections that die while they start', () => {
  let db: TestDatabase;
  let relay: Relay;
  let sql: Sql;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  beforeEach(async () => {
    db = await createTestDatabase();
    relay = await Relay.start(new URL(db.url));
    sql = connectDatabase({ url: relay.url(new URL(db.url)), poolSize: 1, log });
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });

  afterEach(async () => {
    process.off('unhandledRejection', onUnhandled);
    await sql.end({ timeout: 1 });
    await relay.close();
    await db.drop();
  });

  it('fail the query waiting on them, never the process, and the next connection serves', async () => {
    relay.cuts = 1;
    // The driver reconnects: the query is answered, or fails with the cut; either is the caller's to handle.
    await sql`SELECT 1`.catch(() => undefined);
    // Whatever the driver left behind would be reported within a few turns of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled).toEqual([]);
    expect(relay.typeQueries).toBeGreaterThanOrEqual(1);

    const [row] = await sql<{ names: string[] }[]>`SELECT array_agg(x ORDER BY x) AS names FROM (VALUES ('a'), ('b')) AS v(x)`;
    expect(row?.names).toEqual(['a', 'b']);
  });
});
