import type { Logger } from '@causeway/shared';
import type { TokenRecord } from '../store/access-tables.ts';
import { recordTokenUses } from '../store/access-store.ts';
import type { Sql } from '../store/database.ts';

/** How often last-use times are written; a token's is at most this stale in `GET /v1/tokens`. */
const TOKEN_USE_FLUSH_MS = 60_000;

/**
 * Remembers when tokens were last used and writes them in one statement a minute: using a
 * token never costs a write on the request's path.
 */
export class TokenUseRecorder {
  private readonly sql: Sql;
  private readonly log: Logger;
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;

  constructor(sql: Sql, log: Logger) {
    this.sql = sql;
    this.log = log;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), TOKEN_USE_FLUSH_MS);
    this.timer.unref();
  }

  used(token: TokenRecord): void {
    this.pending.set(token.id, new Date());
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const uses = this.pending;
    this.pending = new Map();
    await recordTokenUses(this.sql, uses).catch((error: unknown) => this.log.warn({ err: error, tokens: uses.size }, 'recording token uses failed'));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
