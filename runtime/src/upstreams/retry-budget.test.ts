import { describe, expect, it } from 'vitest';
import { RetryBudget, retryBudgetAllows } from './retry-budget.ts';

describe('retry budget', () => {
  it('allows retries while fewer than max(3, 20 % of requests in flight) are in flight', () => {
    expect(retryBudgetAllows(0, 0)).toBe(true);
    expect(retryBudgetAllows(2, 1)).toBe(true);
    expect(retryBudgetAllows(3, 1)).toBe(false);
    expect(retryBudgetAllows(3, 15)).toBe(false); // 20 % of 15 = 3
    expect(retryBudgetAllows(3, 16)).toBe(true); // 3.2
    expect(retryBudgetAllows(19, 100)).toBe(true);
    expect(retryBudgetAllows(20, 100)).toBe(false);
  });

  it('tracks one cluster', () => {
    const budget = new RetryBudget();
    budget.requests = 50;
    budget.retries = 9;
    expect(budget.allows()).toBe(true);
    budget.retries++;
    expect(budget.allows()).toBe(false);
  });
});
