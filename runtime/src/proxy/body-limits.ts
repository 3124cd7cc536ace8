import type { Admitted } from '../policies/policy-chain.ts';
import type { ApiRoute } from '../routing/serving-config.ts';
import { UpstreamError } from '../upstreams/upstream-errors.ts';
import type { ExchangeDeps } from './exchange-request.ts';
import type { BodyLimits } from './request-body.ts';

/** Sent to undici when the client's body stalled (CAUSEWAY_CLIENT_BODY_TIMEOUT_MS). */
export const bodyTimedOut = new UpstreamError('request_timeout', 'local');

/** The runtime's body limits, with the API's own size limit when it is the smaller. */
export function bodyLimits(limits: ExchangeDeps['limits'], admitted: Admitted | undefined): BodyLimits {
  const max = admitted?.maxBodyBytes ?? 0;
  if (max === 0 || (limits.maxRequestBodyBytes > 0 && limits.maxRequestBodyBytes <= max)) return limits;
  return { bodyTimeoutMs: limits.bodyTimeoutMs, maxRequestBodyBytes: max };
}

/** A body cut at its limit: counted by the runtime, and as a denial of the API's body_size policy when its limit was the one. */
export function countTooLarge(deps: ExchangeDeps, route: ApiRoute, admitted: Admitted | undefined): void {
  deps.counters.bodiesTooLarge.inc();
  if (bodyLimits(deps.limits, admitted) !== deps.limits) route.metrics.denials.count({ policy: 'body_size', reason: 'too_large' });
}
