import type { ErrorCode } from '@causeway/shared';
import type { RetryReason } from '../metrics.ts';

/** Methods whose request can be sent twice (a retry after a 5xx) when it has no body. */
const idempotentMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

const statusRetryReasons: Readonly<Record<number, RetryReason>> = { 502: 'status_502', 503: 'status_503', 504: 'status_504' };

const errorRetryReasons: Readonly<Partial<Record<ErrorCode, RetryReason>>> = {
  upstream_unavailable: 'connect_failure',
  upstream_reset: 'reset',
  upstream_timeout: 'timeout',
};

/** A request that may be sent again after it may have been seen upstream: idempotent, no body. */
export function isReplayable(method: string, hasBody: boolean): boolean {
  return !hasBody && idempotentMethods.has(method);
}

/** The retry reason of a gateway-failure status (502, 503, 504), undefined for any other. */
export function statusRetryReason(status: number): RetryReason | undefined {
  return status >= 502 && status <= 504 ? statusRetryReasons[status] : undefined;
}

export function errorRetryReason(code: ErrorCode): RetryReason | undefined {
  return errorRetryReasons[code];
}

/**
 * Whether a retry after this error counts against the cluster's retry budget. Only a
 * timeout does: the member may still be working on the request, so the retry adds load
 * to a pool that may be overloaded. After a connect failure the request reached no one;
 * after a reset the member dropped the connection, and the request with it. A member
 * that dies resets every request it had in flight at once: counting those retries would
 * fail the ones beyond the budget instead of moving them on.
 */
export function budgetedRetry(code: ErrorCode): boolean {
  return code === 'upstream_timeout';
}

export interface RetryContext {
  readonly replayable: boolean;
  /** The body was (partly) sent already: it cannot be sent again. */
  readonly bodyStarted: boolean;
  readonly perTryTimeoutMs: number;
}

/**
 * Retry rules by error code: a connect failure reached no one, so any method goes again
 * (if its body was not started); a reset or timeout may have been seen upstream, so only
 * a replayable request goes again, and after a timeout only when a per-try timeout leaves
 * room for another try.
 */
export function mayRetryAfterError(code: ErrorCode, context: RetryContext): boolean {
  switch (code) {
    case 'upstream_unavailable':
      return !context.bodyStarted;
    case 'upstream_reset':
      return context.replayable;
    case 'upstream_timeout':
      return context.replayable && context.perTryTimeoutMs > 0;
    default:
      return false;
  }
}
