import { pgCode, ping, unreachableCode, type Sql } from '../store/database.ts';

/** One check of /readyz. */
export interface ReadinessCheck {
  readonly ok: boolean;
  readonly reason?: string;
}

/** How long /readyz waits for the database to answer `SELECT 1`. */
export const READINESS_DATABASE_TIMEOUT_MS = 2_000;
/** An answer is reused this long, so that however often /readyz is called, the database sees one query a second. */
const READINESS_CACHE_MS = 1_000;

/**
 * Whether the database answers, asked on a connection of its own (a pool busy with a long
 * apply is not an outage) at most once a second and never twice at a time.
 */
export class DatabaseProbe {
  private readonly connect: () => Sql;
  private readonly onResult: (check: ReadinessCheck) => void;
  private sql: Sql | undefined;
  private last: { at: number; check: ReadinessCheck } | undefined;
  private pending: Promise<ReadinessCheck> | undefined;

  constructor(connect: () => Sql, onResult: (check: ReadinessCheck) => void = () => undefined) {
    this.connect = connect;
    this.onResult = onResult;
  }

  check(): Promise<ReadinessCheck> {
    if (this.last !== undefined && Date.now() - this.last.at < READINESS_CACHE_MS) return Promise.resolve(this.last.check);
    this.pending ??= this.probe().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  async close(): Promise<void> {
    await this.sql?.end({ timeout: 1 });
    this.sql = undefined;
  }

  private async probe(): Promise<ReadinessCheck> {
    const sql = (this.sql ??= this.connect());
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed_out'>((resolve) => {
      timer = setTimeout(() => resolve('timed_out'), READINESS_DATABASE_TIMEOUT_MS);
    });
    let check: ReadinessCheck;
    try {
      const answer = await Promise.race([ping(sql).then(() => 'answered' as const), timedOut]);
      if (answer === 'timed_out') {
        // Its connection may wait on a peer that vanished without a word: start afresh.
        this.sql = undefined;
        void sql.end({ timeout: 0 });
        check = { ok: false, reason: `no answer within ${READINESS_DATABASE_TIMEOUT_MS} ms` };
      } else {
        check = { ok: true };
      }
    } catch (error) {
      check = { ok: false, reason: `unreachable (${unreachableCode(error) ?? pgCode(error) ?? 'error'})` };
    } finally {
      clearTimeout(timer);
    }
    this.last = { at: Date.now(), check };
    this.onResult(check);
    return check;
  }
}
