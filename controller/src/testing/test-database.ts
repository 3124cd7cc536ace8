import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createLogger } from '@causeway/shared';
import { connectDatabase, type DatabaseOptions, type Sql } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's PostgreSQL server (test/src/harness/global-setup.ts). */
    databaseUrl: string;
  }
}

export interface TestDatabase {
  /** A pool on the database, migrated. */
  readonly sql: Sql;
  readonly url: string;
  /** Another pool on the database (a process of its own would have one), closed by `drop`. */
  connect(options?: Partial<Omit<DatabaseOptions, 'url'>>): Sql;
  /** Closes every pool and drops the database. */
  drop(): Promise<void>;
}

const silent = createLogger('test', { level: 'silent' });

/** A fresh, migrated database of the run's PostgreSQL, so that test files never see each other's data. */
export async function createTestDatabase(poolSize = 4): Promise<TestDatabase> {
  const serverUrl = inject('databaseUrl');
  const name = `causeway_test_${randomBytes(5).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const pools: Sql[] = [];
  const connect = (options: Partial<Omit<DatabaseOptions, 'url'>> = {}): Sql => {
    const pool = connectDatabase({ url: url.toString(), poolSize: 4, log: silent, ...options });
    pools.push(pool);
    return pool;
  };
  const sql = connect({ poolSize });
  await migrate(sql, silent);
  return {
    sql,
    url: url.toString(),
    connect,
    async drop() {
      await Promise.all(pools.map((pool) => pool.end({ timeout: 1 })));
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
