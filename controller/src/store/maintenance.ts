import type { Sql } from './database.ts';

/** Held by at most one replica at a time: that replica does the singleton chores. */
const CHORES_LOCK_ID = 7_305_162_002;

/**
 * Prunes change-log rows older than `retentionMs` that are not among the newest
 * `minRevisions` revisions, and records how far, so followers that lag behind reload in
 * full. Returns the rows deleted.
 */
export async function pruneChangeLog(sql: Sql, retentionMs: number, minRevisions: number): Promise<number> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ through: number | null }[]>`
      SELECT max(revision) AS through FROM config_changes
      WHERE revision <= (SELECT revision FROM config_state) - ${minRevisions}
        AND changed_at < now() - ${`${retentionMs} milliseconds`}::interval`;
    const through = row?.through ?? null;
    if (through === null) return 0;
    await tx`UPDATE config_state SET pruned_through = GREATEST(pruned_through, ${through})`;
    const deleted = await tx`DELETE FROM config_changes WHERE revision <= ${through}`;
    return deleted.count;
  });
}

/**
 * Marks runtimes not heard from for `staleMs` (their replica died) as disconnected, and
 * forgets runtimes and replicas gone for `forgetAfterMs`, and certificates expired that
 * long ago (a revocation keeps the serials it denies).
 */
export async function expireStaleRows(sql: Sql, staleMs: number, forgetAfterMs: number): Promise<{ disconnected: number; forgotten: number }> {
  const stale = await sql`
    UPDATE runtimes SET connected = false
    WHERE connected AND last_seen_at < now() - ${`${staleMs} milliseconds`}::interval`;
  const forgetAfter = `${forgetAfterMs} milliseconds`;
  const runtimes = await sql`DELETE FROM runtimes WHERE NOT connected AND last_seen_at < now() - ${forgetAfter}::interval`;
  const controllers = await sql`DELETE FROM controllers WHERE last_heartbeat_at < now() - ${forgetAfter}::interval`;
  const certificates = await sql`DELETE FROM runtime_certificates WHERE not_after < now() - ${forgetAfter}::interval`;
  return { disconnected: stale.count, forgotten: runtimes.count + controllers.count + certificates.count };
}

/**
 * True when the session of `lockSql` (a pool of one connection) holds the chores lock,
 * taking it if it is free. A new connection (the old one died) holds nothing and must
 * take it again; ending the connection releases it.
 */
export async function holdChoresLock(lockSql: Sql): Promise<boolean> {
  const [row] = await lockSql<{ locked: boolean }[]>`
    SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                               AND ((classid::bigint << 32) | objid::bigint) = ${CHORES_LOCK_ID})
           THEN true ELSE pg_try_advisory_lock(${CHORES_LOCK_ID}) END AS locked`;
  return row?.locked === true;
}

/**
 * Forgets what finished more than `retentionDays` ago (the audit log's retention): released
 * and rolled-back allocations with their step logs, and the revisions of deleted APIs last
 * changed that long ago (an allocation makes and deletes an API of its own). Returns the
 * rows deleted of each.
 */
export async function pruneFinished(sql: Sql, retentionDays: number): Promise<{ allocations: number; revisions: number }> {
  const age = `${retentionDays} days`;
  const allocations = await sql`DELETE FROM allocations WHERE state IN ('released', 'rolled-back') AND finished_at < now() - ${age}::interval`;
  const revisions = await sql`
    DELETE FROM api_revisions r USING (
      SELECT org_id, name FROM api_revisions GROUP BY org_id, name HAVING max(created_at) < now() - ${age}::interval
      EXCEPT SELECT org_id, name FROM apis) gone
    WHERE r.org_id = gone.org_id AND r.name = gone.name`;
  return { allocations: allocations.count, revisions: revisions.count };
}
