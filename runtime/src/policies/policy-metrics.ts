import { Counter, type Registry } from 'prom-client';

/**
 * Why a policy refuses a request, by policy: a fixed list, so the labels of the denials
 * counter stay bounded whatever clients send.
 */
const denialReasons = {
  cors: ['origin', 'method'],
  ip: ['address'],
  body_size: ['too_large'],
  jwt: ['missing', 'malformed', 'issuer', 'expired', 'not_yet_valid', 'audience', 'claim', 'algorithm', 'kid', 'signature', 'keys_unavailable', 'scope'],
  api_key: ['missing', 'invalid'],
  rate_limit: ['spent'],
} as const;

type DenialReasons = typeof denialReasons;
type DeniedBy = keyof DenialReasons;

/** A refusal's policy and reason (the labels of `causeway_runtime_policy_denials_total`). */
export type Denial = { [P in DeniedBy]: { readonly policy: P; readonly reason: DenialReasons[P][number] } }[DeniedBy];

/** How a fetch of an issuer's JWKS URL ended. */
export type JwksFetchResult = 'ok' | 'unreachable' | 'status' | 'invalid' | 'too_large';

export interface PolicyMetrics {
  readonly denials: Counter<'api' | 'policy' | 'reason'>;
  readonly jwksFetches: Counter<'result'>;
}

export function createPolicyMetrics(registry: Registry): PolicyMetrics {
  return {
    denials: new Counter({
      name: 'causeway_runtime_policy_denials_total',
      help: 'Requests refused by a policy of their API, by API, policy and reason.',
      labelNames: ['api', 'policy', 'reason'],
      registers: [registry],
    }),
    jwksFetches: new Counter({
      name: 'causeway_runtime_jwks_fetches_total',
      help: "Fetches of issuers' JWKS URLs, by result: ok, unreachable, status (not 200), invalid (not a key set), too_large.",
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}

/** One API's denial series, bound on first use. */
export class ApiDenials {
  private readonly counter: Counter<'api' | 'policy' | 'reason'>;
  private readonly api: string;
  private readonly bound = new Map<string, { inc(): void }>();

  constructor(counter: Counter<'api' | 'policy' | 'reason'>, api: string) {
    this.counter = counter;
    this.api = api;
  }

  count(denial: Denial): void {
    const key = `${denial.policy}/${denial.reason}`;
    let series = this.bound.get(key);
    if (series === undefined) {
      series = this.counter.labels(this.api, denial.policy, denial.reason);
      this.bound.set(key, series);
    }
    series.inc();
  }
}

/** Drops the denial series of an API that is gone. */
export function forgetDenials(metrics: PolicyMetrics, api: string): void {
  for (const [policy, reasons] of Object.entries(denialReasons)) for (const reason of reasons) metrics.denials.remove(api, policy, reason);
}
