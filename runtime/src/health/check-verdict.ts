/** What consecutive active checks say about a target; `unknown` (never checked) counts as passing. */
type CheckVerdict = 'unknown' | 'pass' | 'fail';

export interface CheckThresholds {
  /** Consecutive passes that bring a failing target back. */
  readonly healthy: number;
  /** Consecutive failures that take a passing (or unchecked) target out. */
  readonly unhealthy: number;
}

export interface CheckCounter {
  readonly verdict: CheckVerdict;
  readonly successes: number;
  readonly failures: number;
}

export const uncheckedCounter: CheckCounter = Object.freeze({ verdict: 'unknown', successes: 0, failures: 0 });

/** A target that definitive evidence (a refused connection) took out: it needs `healthy` passes. */
export const failedCounter: CheckCounter = Object.freeze({ verdict: 'fail', successes: 0, failures: 0 });

/**
 * The counter after one check (pure). A target flips only after a threshold of
 * consecutive results the other way; an unchecked one passes at its first pass.
 */
export function recordCheck(counter: CheckCounter, passed: boolean, thresholds: CheckThresholds): CheckCounter {
  if (passed) {
    const successes = counter.successes + 1;
    const verdict = counter.verdict === 'fail' && successes < thresholds.healthy ? 'fail' : 'pass';
    return { verdict, successes, failures: 0 };
  }
  const failures = counter.failures + 1;
  const verdict = counter.verdict !== 'fail' && failures < thresholds.unhealthy ? counter.verdict : 'fail';
  return { verdict, successes: 0, failures };
}

export function checkPasses(counter: CheckCounter): boolean {
  return counter.verdict !== 'fail';
}
