export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 200, maxMs: 5_000 };

/**
 * Exponential backoff with "equal jitter": each delay is half the current step plus a
 * random part of the other half, so runtimes that lost the same controller do not
 * come back in lockstep. The step doubles up to `maxMs`.
 */
export class Backoff {
  private readonly options: BackoffOptions;
  private readonly random: () => number;
  private step: number;

  constructor(options: BackoffOptions = defaultBackoff, random: () => number = Math.random) {
    this.options = options;
    this.random = random;
    this.step = options.initialMs;
  }

  next(): number {
    const step = this.step;
    this.step = Math.min(step * 2, this.options.maxMs);
    return Math.round(step / 2 + this.random() * (step / 2));
  }

  reset(): void {
    this.step = this.options.initialMs;
  }
}
