/**
 * The bounds and defaults of every resource field, in one place: the controller fills
 * the defaults into what it stores and refuses what breaks a rule; the runtime checks
 * what it is sent against the same rules, so what the controller accepts, a runtime with
 * default settings applies.
 */

/** A whole-number field: its bounds and the value used when it is not given. */
export interface Range {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

export const httpMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof httpMethods)[number];

export const lbPolicies = ['random', 'round-robin', 'least-request'] as const;
export type LbPolicyName = (typeof lbPolicies)[number];

/** The longest request timeout an API may ask for; a runtime may be set to allow less. */
export const MAX_REQUEST_TIMEOUT_MS = 300_000;

export const apiRules = {
  maxHosts: 64,
  maxHostLength: 253,
  maxFailoverZones: 32,
  /**
   * Labels `runtimeSelector.matchLabels` may require (each with the rule of a runtime's own
   * labels, which its certificate carries).
   */
  maxRuntimeSelectorLabels: 16,
  stripBasePath: true,
  loadBalancing: 'random' as LbPolicyName,
  failoverEnabled: false,
  timeouts: {
    connectMs: { min: 1, max: 60_000, default: 2_000 },
    requestMs: { min: 1, max: MAX_REQUEST_TIMEOUT_MS, default: 15_000 },
  },
  retries: {
    attempts: { min: 0, max: 10, default: 2 },
    /** 0: each attempt may take what is left of the request timeout. */
    perTryTimeoutMs: { min: 0, max: MAX_REQUEST_TIMEOUT_MS, default: 0 },
  },
} as const;

export const gatewayRules = {
  /** The zone of a gateway that names none. */
  zone: 'default',
  /** Where a gateway dedicated to a tenant is told so (POST) and told to forget it (DELETE). */
  handshakePath: '/.well-known/causeway/handshake',
  maxHandshakePathLength: 256,
} as const;

export const healthCheckRules = {
  maxPathLength: 256,
  path: '/',
  intervalMs: { min: 100, max: 300_000, default: 5_000 },
  /** The default is this or the interval, whichever is shorter. */
  timeoutMs: { min: 50, max: 60_000, default: 2_000 },
  healthyThreshold: { min: 1, max: 10, default: 2 },
  unhealthyThreshold: { min: 1, max: 10, default: 3 },
} as const;

export const poolRules = {
  maxMembers: 256,
  maxDescriptionLength: 256,
} as const;

export const zoneRules = {
  failoverEligible: true,
  failoverPriority: { min: 0, max: 1_000, default: 100 },
} as const;

/** The rule a number breaks, or undefined when it is a whole number within the range. */
export function rangeProblem(value: unknown, range: Pick<Range, 'min' | 'max'>): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max) return undefined;
  return `is not a whole number from ${range.min} to ${range.max}`;
}

const hostPattern = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The rule an API host name breaks (exact, lower-case, no port), or undefined. */
export function hostProblem(host: string): string | undefined {
  return hostPattern.test(host) ? undefined : 'is not a lowercase host name without port';
}

export function isHttpMethod(value: unknown): value is HttpMethod {
  return typeof value === 'string' && (httpMethods as readonly string[]).includes(value);
}

/** A health check path: absolute, printable ASCII without spaces or '#', query allowed. */
const checkPathPattern = /^\/[!-"$-~]{0,255}$/;

export function healthCheckPathProblem(path: string): string | undefined {
  return checkPathPattern.test(path) ? undefined : "is not an absolute path (starting with '/', printable, no spaces or '#', max 256)";
}
