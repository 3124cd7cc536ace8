import type { Metric, Registry } from 'prom-client';

/** One API's series: per-bucket counts (each bucket only its own range, +Inf last), sum and count. */
export class HistogramSeries {
  private readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

interface SampleValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName: string;
}

export interface ApiHistogramOptions {
  readonly name: string;
  readonly help: string;
  /** The label that names the series (one label only). */
  readonly labelName: string;
  readonly buckets: readonly number[];
  readonly registry: Registry;
}

/**
 * A histogram with one label, for the hot path: a series is bound once and an observation
 * is three additions (prom-client's Histogram hashes the label set and allocates on every
 * `observe()`). The registry reads it like its own metrics: `get()` returns the same
 * shape, with cumulative `_bucket`, `_sum` and `_count` samples.
 */
export class ApiHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** As prom-client's metrics have them: the one label. */
  readonly labelNames: readonly string[];
  private readonly labelName: string;
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(options: ApiHistogramOptions) {
    this.name = options.name;
    this.help = options.help;
    this.labelName = options.labelName;
    this.labelNames = [options.labelName];
    this.bounds = [...options.buckets].sort((a, b) => a - b);
    // The registry only calls get() and reset(), which this class has; its types list prom-client's classes.
    options.registry.registerMetric(this as unknown as Metric);
  }

  /** The series of one label value, created on first use. */
  labels(value: string): HistogramSeries {
    let series = this.series.get(value);
    if (series === undefined) {
      series = new HistogramSeries(this.bounds);
      this.series.set(value, series);
    }
    return series;
  }

  /** Drops a series; observations still made on it are not exported. */
  remove(value: string): void {
    this.series.delete(value);
  }

  reset(): void {
    this.series.clear();
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: SampleValue[] } {
    const values: SampleValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const [labelValue, series] of this.series) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += series.counts[i] as number;
        const le = i < this.bounds.length ? (this.bounds[i] as number) : '+Inf';
        values.push({ value: cumulative, labels: { le, [this.labelName]: labelValue }, metricName: bucketName });
      }
      values.push({ value: series.sum, labels: { [this.labelName]: labelValue }, metricName: `${this.name}_sum` });
      values.push({ value: series.count, labels: { [this.labelName]: labelValue }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
