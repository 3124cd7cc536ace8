import { readdir, readFile } from 'node:fs/promises';
import type { Sql } from 'postgres';
import type { Logger } from '@causeway/shared';

const migrationsDir = new URL('./migrations/', import.meta.url);

/** Any constant will do; it only has to be the same for every replica. */
const MIGRATION_LOCK_ID = 7_305_162_001;

/**
 * Applies every migration not yet applied, in file-name order, all in one transaction
 * that first takes a transaction-level advisory lock: replicas starting together wait
 * for each other, and the second finds everything applied. A failed migration applies
 * none of them.
 */
export async function migrate(sql: Sql, log: Logger): Promise<string[]> {
  const files = (await readdir(migrationsDir)).filter((f) => f.endsWith('.sql')).sort();
  return sql.begin(async (tx) => {
    // A transaction-level lock is released on commit or on a dropped connection.
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Set((await tx<{ version: string }[]>`SELECT version FROM schema_migrations`).map((r) => r.version));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      const text = await readFile(new URL(file, migrationsDir), 'utf8');
      await tx.unsafe(text);
      await tx`INSERT INTO schema_migrations (version) VALUES (${file})`;
      applied.push(file);
      log.info({ migration: file }, 'migration applied');
    }
    return applied;
  });
}
