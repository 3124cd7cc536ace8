import { describe, expect, it } from 'vitest';
import { recordCheck, uncheckedCounter, type CheckCounter } from './check-verdict.ts';
import { decayedEjections, defaultOutlierSettings as settings, ejectionAllowed, ejectionMs } from './outlier.ts';

describe('outlier detection rules', () => {
  it('makes each ejection base × count long, capped', () => {
    expect([1, 2, 3, 9, 10, 11, 50].map((n) => ejectionMs(settings, n))).toEqual([30_000, 60_000, 90_000, 270_000, 300_000, 300_000, 300_000]);
  });

  it('forgives one ejection per base ejection time in service', () => {
    expect(decayedEjections(settings, 4, 1_000, 1_000 + 29_999)).toBe(4);
    expect(decayedEjections(settings, 4, 1_000, 1_000 + 30_000)).toBe(3);
    expect(decayedEjections(settings, 4, 1_000, 1_000 + 10 * 30_000)).toBe(0);
    expect(decayedEjections(settings, 0, 0, 1e9)).toBe(0);
  });

  it('caps the ejected share at 50 % and keeps one member usable', () => {
    expect(ejectionAllowed(settings, 2, 0, 1)).toBe(true);
    expect(ejectionAllowed(settings, 3, 1, 1)).toBe(false); // 2 of 3 > 50 %
    expect(ejectionAllowed(settings, 4, 1, 2)).toBe(true);
    expect(ejectionAllowed(settings, 4, 2, 1)).toBe(false);
    expect(ejectionAllowed(settings, 1, 0, 0)).toBe(false);
    expect(ejectionAllowed(settings, 10, 0, 0)).toBe(false); // the last usable member stays
    expect(ejectionAllowed({ ...settings, maxEjectionPercent: 100 }, 3, 1, 1)).toBe(true);
  });
});

describe('active check thresholds', () => {
  const thresholds = { healthy: 2, unhealthy: 3 };
  const run = (results: readonly boolean[], from: CheckCounter = uncheckedCounter): string[] => {
    let counter = from;
    return results.map((passed) => (counter = recordCheck(counter, passed, thresholds)).verdict);
  };

  it('needs consecutive failures to fail and consecutive passes to come back', () => {
    expect(run([false, false, true, false, false, false])).toEqual(['unknown', 'unknown', 'pass', 'pass', 'pass', 'fail']);
    expect(run([false, false, false, true, false, true, true])).toEqual(['unknown', 'unknown', 'fail', 'fail', 'fail', 'fail', 'pass']);
  });

  it('passes an unchecked target at its first pass', () => {
    expect(run([true])).toEqual(['pass']);
  });

  it('with thresholds of 1 follows every result', () => {
    let counter = uncheckedCounter;
    const verdicts = [false, true, false].map((passed) => (counter = recordCheck(counter, passed, { healthy: 1, unhealthy: 1 })).verdict);
    expect(verdicts).toEqual(['fail', 'pass', 'fail']);
  });
});
