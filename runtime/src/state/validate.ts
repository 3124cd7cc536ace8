import {
  LbPolicySchema,
  MemberHealthSchema,
  type Api,
  type Cluster,
  type Zone,
} from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { PendingState } from './pending-state.ts';
import { ResourceIndex } from './resource-index.ts';
import { mergeUpdate, type ResourceState, type ResourceUpdate } from './resource-state.ts';

export interface ValidationLimits {
  /** CAUSEWAY_MAX_REQUEST_TIMEOUT_MS: the longest request timeout an Api may ask for. */
  readonly maxRequestTimeoutMs: number;
}

/**
 * Why the latest update of an API was rejected, by API name. A removal refused because
 * an API still uses the cluster is usually the consequence of that earlier rejection
 * (the controller moved the API elsewhere, and this runtime kept the old version), so
 * the message carries the cause.
 */
export type RejectedApis = ReadonlyMap<string, string>;

export type ValidationResult = { readonly ok: true; readonly state: ResourceState } | { readonly ok: false; readonly problems: readonly string[] };

const hostPattern = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** An RFC 9110 token without lower-case letters. */
const methodPattern = /^[!#$%&'+.^_`|~0-9A-Z-]+$/;
/**
 * Path characters a base path may use: RFC 3986 pchar without '*', '(' and ')', which
 * the route tree would read as wildcards and regular expressions.
 */
const segmentPattern = /^(?:[A-Za-z0-9\-._~!$&'+,;=:@]|%[0-9A-Fa-f]{2})+$/;
const maxBasePathLength = 1024;
/** A health check path: absolute, printable ASCII without spaces or '#', query allowed. */
const checkPathPattern = /^\/[!-"$-~]{0,1023}$/;

function quote(value: string): string {
  return JSON.stringify(value);
}

function basePathProblem(basePath: string): string | undefined {
  if (!basePath.startsWith('/')) return "must start with '/'";
  if (basePath.length > maxBasePathLength) return `is longer than ${maxBasePathLength} characters`;
  if (basePath === '/') return undefined;
  const segments = (basePath.endsWith('/') ? basePath.slice(0, -1) : basePath).slice(1).split('/');
  for (const segment of segments) {
    if (segment === '') return "has an empty segment ('//')";
    if (segment === '.' || segment === '..' || /^(?:\.|%2e){1,2}$/i.test(segment)) {
      return "has a '.' or '..' segment";
    }
    if (!segmentPattern.test(segment)) {
      return "has a character outside letters, digits, \"-._~!$&'+,;=:@\" and %-escapes";
    }
  }
  return undefined;
}

/** Why a member or DTC URL is unusable, or undefined when it is fine. */
export function upstreamUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'is not an http:// or https:// URL';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.search !== '' || url.hash !== '') return 'must not have a query or fragment';
  return undefined;
}

export function validateApi(name: string, api: Api, limits: ValidationLimits): string[] {
  const problems: string[] = [];
  const at = (field: string, value: string | number, rule: string): void => {
    problems.push(`api ${quote(name)}: ${field}: ${typeof value === 'string' ? quote(value) : value} ${rule}`);
  };
  const basePathRule = basePathProblem(api.basePath);
  if (basePathRule !== undefined) at('base_path', api.basePath, basePathRule);
  api.hosts.forEach((host, i) => {
    if (!hostPattern.test(host)) at(`hosts[${i}]`, host, 'is not a lower-case host name without port');
  });
  api.methods.forEach((method, i) => {
    if (!methodPattern.test(method)) at(`methods[${i}]`, method, 'is not an upper-case HTTP method token');
  });
  if (api.cluster === '') at('cluster', api.cluster, 'is empty');
  const requestMs = api.timeouts?.requestMs ?? 0;
  if (requestMs > limits.maxRequestTimeoutMs) {
    at('timeouts.request_ms', requestMs, `exceeds CAUSEWAY_MAX_REQUEST_TIMEOUT_MS (${limits.maxRequestTimeoutMs}) of this runtime`);
  }
  const perTryMs = api.retries?.perTryTimeoutMs ?? 0;
  if (perTryMs > limits.maxRequestTimeoutMs) {
    at('retries.per_try_timeout_ms', perTryMs, `exceeds CAUSEWAY_MAX_REQUEST_TIMEOUT_MS (${limits.maxRequestTimeoutMs}) of this runtime`);
  }
  if (LbPolicySchema.value[api.lbPolicy] === undefined) at('lb_policy', api.lbPolicy, 'is not a known load-balancing policy');
  return problems;
}

export function validateCluster(name: string, cluster: Cluster): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  cluster.members.forEach((member, i) => {
    const at = `cluster ${quote(name)}: members[${i}]`;
    if (member.name === '') problems.push(`${at}.name: "" is empty`);
    else if (seen.has(member.name)) problems.push(`${at}.name: ${quote(member.name)} is used by two members`);
    seen.add(member.name);
    const urlRule = upstreamUrlProblem(member.url);
    if (urlRule !== undefined) problems.push(`${at}.url: ${quote(member.url)} ${urlRule}`);
    if (MemberHealthSchema.value[member.controlPlaneHealth] === undefined) {
      problems.push(`${at}.control_plane_health: ${member.controlPlaneHealth} is not a known health value`);
    }
    const checkPath = member.healthCheck?.path ?? '';
    if (checkPath !== '' && !checkPathPattern.test(checkPath)) {
      problems.push(`${at}.health_check.path: ${quote(checkPath)} is not an absolute path (starting with '/', no spaces or '#')`);
    }
  });
  return problems;
}

export function validateZone(name: string, zone: Zone): string[] {
  if (zone.dtcUrl === '') return [];
  const rule = upstreamUrlProblem(zone.dtcUrl);
  return rule === undefined ? [] : [`zone ${quote(name)}: dtc_url: ${quote(zone.dtcUrl)} ${rule}`];
}

function resourceProblems(update: ResourceUpdate, limits: ValidationLimits): string[] {
  const problems: string[] = [];
  switch (update.kind) {
    case 'cluster':
      for (const [name, entry] of update.upserts) problems.push(...validateCluster(name, entry.message));
      break;
    case 'zone':
      for (const [name, entry] of update.upserts) problems.push(...validateZone(name, entry.message));
      break;
    case 'api':
      for (const [name, entry] of update.upserts) problems.push(...validateApi(name, entry.message, limits));
      break;
  }
  return problems;
}

/**
 * References that the updates would break, found through the index: an API's cluster
 * must exist, and a cluster an API keeps using cannot be removed.
 */
function referenceProblems(update: ResourceUpdate, next: PendingState, index: ResourceIndex, rejected: RejectedApis): string[] {
  const problems: string[] = [];
  if (update.kind === 'api') {
    for (const [name, entry] of update.upserts) {
      const cluster = entry.message.cluster;
      if (cluster !== '' && next.get('cluster', cluster) === undefined) {
        problems.push(`api ${quote(name)}: cluster: ${quote(cluster)} does not exist`);
      }
    }
  }
  if (update.kind === 'cluster') {
    for (const cluster of update.removals) {
      for (const name of index.apisUsing(cluster)) {
        if (next.get('api', name)?.cluster !== cluster) continue;
        const cause = rejected.get(name);
        problems.push(
          `cluster ${quote(cluster)}: cannot be removed while api ${quote(name)} uses it` +
            (cause === undefined ? '' : ` (its update was rejected: ${cause})`),
        );
      }
    }
  }
  return problems;
}

/**
 * Checks updates (at most one per kind, applied together) against the resources held
 * and their index: every changed resource's own rules, then the references the updates
 * touch. Costs what the updates change, not what is held.
 */
export function updateProblems(
  held: ResourceState,
  index: ResourceIndex,
  updates: readonly ResourceUpdate[],
  limits: ValidationLimits,
  rejected: RejectedApis = new Map(),
): string[] {
  const problems = updates.flatMap((update) => resourceProblems(update, limits));
  const next = new PendingState(held, updates);
  for (const update of updates) problems.push(...referenceProblems(update, next, index, rejected));
  return problems;
}

/**
 * Checks an update against the state it would produce: every resource's own rules, then
 * the references between resources. Returns that state, or every problem found.
 */
export function validateUpdate(
  current: ResourceState,
  update: ResourceUpdate,
  limits: ValidationLimits,
  rejected: RejectedApis = new Map(),
): ValidationResult {
  const problems = updateProblems(current, ResourceIndex.of(current), [update], limits, rejected);
  return problems.length === 0 ? { ok: true, state: mergeUpdate(current, update) } : { ok: false, problems };
}
