/**
 * Turns a burst of triggers into few runs: `run` fires once no trigger came for
 * `holdoffMs`, or `maxDelayMs` after the first trigger of the burst, whichever is first.
 */
export class Coalescer {
  private readonly holdoffMs: number;
  private readonly maxDelayMs: number;
  private readonly run: () => void;
  private quietTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;

  constructor(holdoffMs: number, maxDelayMs: number, run: () => void) {
    this.holdoffMs = holdoffMs;
    this.maxDelayMs = maxDelayMs;
    this.run = run;
  }

  trigger(): void {
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
    this.run();
  }
}
