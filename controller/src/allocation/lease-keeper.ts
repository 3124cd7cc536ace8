import type { Logger } from '@causeway/shared';
import { renewLease } from '../store/allocations.ts';
import type { Sql } from '../store/database.ts';

/**
 * Renews the lease of an allocation this replica works on, three times per lease period,
 * so that a missed renewal or two do not lose it; if this replica dies, the lease runs
 * out and the chores replica takes the work over. A renewal that finds the lease gone
 * stops: every write of the work is fenced by the lease and fails from then on.
 */
export class LeaseKeeper {
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(sql: Sql, id: string, owner: string, leaseMs: number, log: Logger) {
    this.timer = setInterval(() => {
      renewLease(sql, id, owner, leaseMs).then(
        (held) => {
          if (!held && !this.stopped) {
            log.warn({ allocation: id }, 'allocation lease lost');
            this.stop();
          }
        },
        (error: unknown) => log.warn({ err: error, allocation: id }, 'allocation lease renewal failed; retrying'),
      );
    }, Math.max(Math.floor(leaseMs / 3), 100));
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
