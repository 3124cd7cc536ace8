import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ApiHistogram } from './api-histogram.ts';

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

describe('ApiHistogram', () => {
  it('exports exactly what a prom-client Histogram with the same observations exports', async () => {
    const expected = new Registry();
    const actual = new Registry();
    const reference = new Histogram({ name: 'x_seconds', help: 'Help.', labelNames: ['api'], buckets, registers: [expected] });
    const histogram = new ApiHistogram({ name: 'x_seconds', help: 'Help.', labelName: 'api', buckets, registry: actual });
    const observations: [string, number][] = [['acme/a', 0.0003], ['acme/a', 0.005], ['acme/a', 0.0071], ['acme/a', 100], ['b"\\c', 2], ['acme/a', 0.25]];
    for (const [api, value] of observations) {
      reference.labels(api).observe(value);
      histogram.labels(api).observe(value);
    }
    expect(await actual.metrics()).toBe(await expected.metrics());
  });

  it('forgets a removed series, even if it is observed afterwards', async () => {
    const registry = new Registry();
    const histogram = new ApiHistogram({ name: 'x_seconds', help: 'Help.', labelName: 'api', buckets, registry });
    const series = histogram.labels('acme/a');
    histogram.labels('acme/b').observe(1);
    histogram.remove('acme/a');
    series.observe(1);
    const text = await registry.metrics();
    expect(text).not.toContain('acme/a');
    expect(text).toContain('x_seconds_count{api="acme/b"} 1');
  });
});
