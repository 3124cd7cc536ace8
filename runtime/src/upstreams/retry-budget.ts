/** Envoy's retry budget defaults: 20 % of the requests in flight, and never fewer than 3. */
const retryBudgetPercent = 20;
const minRetryConcurrency = 3;

/** Whether one more retry may start: retries in flight < max(3, 20 % of requests in flight). */
export function retryBudgetAllows(retriesInFlight: number, requestsInFlight: number): boolean {
  return retriesInFlight < Math.max(minRetryConcurrency, (requestsInFlight * retryBudgetPercent) / 100);
}

/**
 * The retry budget of one cluster, shared by every API that routes to it and kept
 * across config builds, so a sick pool is not stormed with retries.
 */
export class RetryBudget {
  /** Client requests being served by the cluster. */
  requests = 0;
  /** Retry attempts (after a timeout or a 502/503/504) in flight. */
  retries = 0;

  allows(): boolean {
    return retryBudgetAllows(this.retries, this.requests);
  }
}
