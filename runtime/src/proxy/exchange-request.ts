import type { Logger } from '@causeway/shared';
import type { UpstreamObserver } from '../health/upstream-health.ts';
import type { Admitted } from '../policies/policy-chain.ts';
import type { Increment } from '../pending-counts.ts';
import type { ClientLimits } from './client-limits.ts';

/** What the client limits count, bound once. */
interface ClientCounters {
  readonly bodyTimeouts: Increment;
  readonly sendTimeouts: Increment;
  readonly bodiesTooLarge: Increment;
}

export interface ExchangeDeps {
  readonly log: Logger;
  readonly random: () => number;
  /** Wall clock, for member states (ejection deadlines). */
  readonly now: () => number;
  /** This runtime's zone, named in the hop marker of requests forwarded to a DTC URL. */
  readonly zone: string;
  readonly upstreams: UpstreamObserver;
  readonly limits: ClientLimits;
  readonly counters: ClientCounters;
}

export interface ExchangeRequest {
  readonly method: string;
  readonly path: string;
  /** `?...` or ''. */
  readonly query: string;
  /** The query members get when a policy took something out of it (an API key); a DTC URL gets `query`. */
  readonly upstreamQuery?: string | undefined;
  readonly requestId: string;
  readonly hasBody: boolean;
  /** The client's Host header, sent on as is to a DTC URL. */
  readonly host: string | undefined;
  /** Forwarded here by another zone's runtime (a verified hop marker): served by local members only, never forwarded again. */
  readonly hopped: boolean;
  /** Headers to send to a member, without Host (undici sends the member's, its pool origin's). */
  readonly headers: string[];
  /** Set when the API has policies and the request passed them: they change the response too. */
  readonly admitted?: Admitted | undefined;
}
