/**
 * Turns a burst of triggers into few runs. A trigger after a quiet period (nothing ran
 * for `holdoffMs`) runs at once, so a lone change pays no delay; triggers that follow it
 * are held until none came for `holdoffMs`, or until `maxDelayMs` after the first of
 * them, whichever is first.
 */
export class Coalescer {
  private readonly holdoffMs: number;
  private readonly maxDelayMs: number;
  private readonly run: () => void;
  private readonly now: () => number;
  private quietTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private lastRunAt = Number.NEGATIVE_INFINITY;

  constructor(holdoffMs: number, maxDelayMs: number, run: () => void, now: () => number = Date.now) {
    this.holdoffMs = holdoffMs;
    this.maxDelayMs = maxDelayMs;
    this.run = run;
    this.now = now;
  }

  trigger(): void {
    if (this.quietTimer === undefined && this.now() - this.lastRunAt >= this.holdoffMs) {
      this.fire();
      return;
    }
    if (this.quietTimer !== undefined) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.fire(), this.holdoffMs);
    this.deadlineTimer ??= setTimeout(() => this.fire(), this.maxDelayMs);
  }

  /** Runs now if anything is waiting. */
  flush(): void {
    if (this.quietTimer !== undefined) this.fire();
  }

  cancel(): void {
    clearTimeout(this.quietTimer);
    clearTimeout(this.deadlineTimer);
    this.quietTimer = undefined;
    this.deadlineTimer = undefined;
  }

  private fire(): void {
    this.cancel();
    this.lastRunAt = this.now();
    this.run();
  }
}
