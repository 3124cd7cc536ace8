export interface Increment {
  inc(): void;
}

/**
 * Counts kept as plain numbers on the hot path and added to their prom-client series
 * when the registry is read (the counter's `collect`): prom-client's own `inc()` hashes
 * the label set on every call.
 */
export class PendingCounts {
  private readonly changed: PendingCount[] = [];

  /** An increment of `series` that costs an addition until the next flush. */
  of(series: { inc(value: number): void }): Increment {
    return new PendingCount(series, this.changed);
  }

  flush(): void {
    for (const count of this.changed) count.flush();
    this.changed.length = 0;
  }
}

class PendingCount implements Increment {
  private readonly series: { inc(value: number): void };
  private readonly changed: PendingCount[];
  private pending = 0;

  constructor(series: { inc(value: number): void }, changed: PendingCount[]) {
    this.series = series;
    this.changed = changed;
  }

  inc(): void {
    if (this.pending++ === 0) this.changed.push(this);
  }

  flush(): void {
    this.series.inc(this.pending);
    this.pending = 0;
  }
}
