import {
  apiRules,
  canonicalBasePath,
  canonicalUpstreamUrl,
  checkPolicies,
  healthCheckPathProblem,
  healthCheckRules,
  hostProblem,
  httpMethods,
  isHttpMethod,
  isSlug,
  poolRules,
  policiesSpecOf,
  checkZoneIssuers,
  issuersSpecOf,
  rangeProblem,
  slugRule,
  zoneRules,
  type Range,
} from '@causeway/shared';
import {
  LbPolicy,
  LbPolicySchema,
  MemberHealth,
  MemberHealthSchema,
  type Api,
  type Cluster,
  type HealthCheck,
  type Zone,
} from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { PendingResources } from './pending-resources.ts';
import { ResourceIndex } from './resource-index.ts';
import { mergeUpdate, type Resources, type ResourceUpdate } from './resources.ts';

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

export type ValidationResult = { readonly ok: true; readonly resources: Resources } | { readonly ok: false; readonly problems: readonly string[] };

function quote(value: string): string {
  return JSON.stringify(value);
}

/**
 * The shared rules of an Api (shared/src/rules), as this runtime checks what it is sent:
 * the same bounds the controller applies when it accepts a write, plus this runtime's own
 * cap on request timeouts, which an operator may set lower than the controller's. The
 * controller fills every default in, so a field left unset is refused, never defaulted
 * here: a default lives in the shared rules only.
 */
export function validateApi(name: string, api: Api, limits: ValidationLimits): string[] {
  const problems: string[] = [];
  const at = (field: string, value: string | number, rule: string): void => {
    problems.push(`api ${quote(name)}: ${field}: ${typeof value === 'string' ? quote(value) : value} ${rule}`);
  };
  const basePath = canonicalBasePath(api.basePath);
  if (!basePath.ok) at('base_path', api.basePath, basePath.rule);
  if (api.hosts.length > apiRules.maxHosts) at('hosts', api.hosts.length, `hosts; at most ${apiRules.maxHosts} are allowed`);
  api.hosts.forEach((host, i) => {
    const rule = hostProblem(host);
    if (rule !== undefined) at(`hosts[${i}]`, host, rule);
  });
  api.methods.forEach((method, i) => {
    if (!isHttpMethod(method)) at(`methods[${i}]`, method, `is not one of ${httpMethods.join(', ')}`);
  });
  if (api.cluster === '') at('cluster', api.cluster, 'is empty');
  if (api.upstreamLabel === '') at('upstream_label', api.upstreamLabel, 'is empty');
  const { timeouts, retries } = apiRules;
  const range = (field: string, value: number | undefined, bounds: Range): void => {
    const rule = rangeProblem(value, bounds);
    if (rule !== undefined) at(field, value ?? 'absent', rule);
  };
  range('timeouts.connect_ms', api.timeouts?.connectMs, timeouts.connectMs);
  range('timeouts.request_ms', api.timeouts?.requestMs, timeouts.requestMs);
  range('retries.attempts', api.retries?.attempts, retries.attempts);
  range('retries.per_try_timeout_ms', api.retries?.perTryTimeoutMs, retries.perTryTimeoutMs);
  const requestMs = api.timeouts?.requestMs ?? 0;
  if (requestMs > limits.maxRequestTimeoutMs) {
    at('timeouts.request_ms', requestMs, `exceeds CAUSEWAY_MAX_REQUEST_TIMEOUT_MS (${limits.maxRequestTimeoutMs}) of this runtime`);
  }
  const perTryMs = api.retries?.perTryTimeoutMs ?? 0;
  if (perTryMs > limits.maxRequestTimeoutMs) {
    at('retries.per_try_timeout_ms', perTryMs, `exceeds CAUSEWAY_MAX_REQUEST_TIMEOUT_MS (${limits.maxRequestTimeoutMs}) of this runtime`);
  }
  if (api.lbPolicy === LbPolicy.UNSPECIFIED || LbPolicySchema.value[api.lbPolicy] === undefined) {
    at('lb_policy', api.lbPolicy, 'is not a known load-balancing policy');
  }
  if (api.failover === undefined) at('failover', 'absent', 'must be set (enabled, zones)');
  const zones = api.failover?.zones ?? [];
  if (zones.length > apiRules.maxFailoverZones) at('failover.zones', zones.length, `zones; at most ${apiRules.maxFailoverZones} are allowed`);
  zones.forEach((zone, i) => {
    if (!isSlug(zone)) at(`failover.zones[${i}]`, zone, `is not a slug (${slugRule})`);
  });
  // What this runtime cannot apply: a policy breaking the shared rules (a CIDR or key set that does not parse, ...).
  if (api.policies !== undefined) {
    for (const problem of checkPolicies(policiesSpecOf(api.policies), 'policies').problems) problems.push(`api ${quote(name)}: ${problem.path}: ${problem.message}`);
  }
  api.consumers.forEach((consumer, i) => {
    if (!isSlug(consumer.name)) at(`consumers[${i}].name`, consumer.name, `is not a slug (${slugRule})`);
    if (consumer.keyDigests.some((d) => d.length !== 32)) at(`consumers[${i}].keyDigests`, consumer.name, 'holds a digest that is not 32 bytes (SHA-256)');
  });
  return problems;
}

function healthCheckProblems(at: string, check: HealthCheck | undefined): string[] {
  if (check === undefined) return [];
  const problems: string[] = [];
  const rules = healthCheckRules;
  const pathRule = healthCheckPathProblem(check.path);
  if (pathRule !== undefined) problems.push(`${at}.health_check.path: ${quote(check.path)} ${pathRule}`);
  const ranges: [string, number, Range][] = [
    ['interval_ms', check.intervalMs, rules.intervalMs],
    ['timeout_ms', check.timeoutMs, rules.timeoutMs],
    ['healthy_threshold', check.healthyThreshold, rules.healthyThreshold],
    ['unhealthy_threshold', check.unhealthyThreshold, rules.unhealthyThreshold],
  ];
  for (const [field, value, range] of ranges) {
    const rule = rangeProblem(value, range);
    if (rule !== undefined) problems.push(`${at}.health_check.${field}: ${value} ${rule}`);
  }
  if (check.timeoutMs > check.intervalMs) problems.push(`${at}.health_check.timeout_ms: ${check.timeoutMs} must not exceed interval_ms (${check.intervalMs})`);
  return problems;
}

export function validateCluster(name: string, cluster: Cluster): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  if (cluster.members.length > poolRules.maxMembers) {
    problems.push(`cluster ${quote(name)}: members: ${cluster.members.length} members; at most ${poolRules.maxMembers} are allowed`);
  }
  cluster.members.forEach((member, i) => {
    const at = `cluster ${quote(name)}: members[${i}]`;
    if (member.name === '') problems.push(`${at}.name: "" is empty`);
    else if (seen.has(member.name)) problems.push(`${at}.name: ${quote(member.name)} is used by two members`);
    seen.add(member.name);
    const url = canonicalUpstreamUrl(member.url);
    if (!url.ok) problems.push(`${at}.url: ${quote(member.url)} ${url.rule}`);
    if (member.controlPlaneHealth === MemberHealth.UNSPECIFIED || MemberHealthSchema.value[member.controlPlaneHealth] === undefined) {
      problems.push(`${at}.control_plane_health: ${member.controlPlaneHealth} is not a known health value`);
    }
    problems.push(...healthCheckProblems(at, member.healthCheck));
  });
  return problems;
}

export function validateZone(name: string, zone: Zone): string[] {
  const problems: string[] = [];
  const priority = rangeProblem(zone.failoverPriority, zoneRules.failoverPriority);
  if (priority !== undefined) problems.push(`zone ${quote(name)}: failover_priority: ${zone.failoverPriority} ${priority}`);
  for (const problem of checkZoneIssuers(issuersSpecOf(zone.issuers), 'issuers').problems) problems.push(`zone ${quote(name)}: ${problem.path}: ${problem.message}`);
  if (zone.dtcUrl === '') return problems;
  const url = canonicalUpstreamUrl(zone.dtcUrl);
  if (!url.ok) problems.push(`zone ${quote(name)}: dtc_url: ${quote(zone.dtcUrl)} ${url.rule}`);
  return problems;
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
function referenceProblems(update: ResourceUpdate, next: PendingResources, index: ResourceIndex, rejected: RejectedApis): string[] {
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
  held: Resources,
  index: ResourceIndex,
  updates: readonly ResourceUpdate[],
  limits: ValidationLimits,
  rejected: RejectedApis = new Map(),
): string[] {
  const problems = updates.flatMap((update) => resourceProblems(update, limits));
  const next = new PendingResources(held, updates);
  for (const update of updates) problems.push(...referenceProblems(update, next, index, rejected));
  return problems;
}

/**
 * Checks an update against the resources it would produce: every resource's own rules,
 * then the references between resources. Returns those resources, or every problem found.
 */
export function validateUpdate(
  current: Resources,
  update: ResourceUpdate,
  limits: ValidationLimits,
  rejected: RejectedApis = new Map(),
): ValidationResult {
  const problems = updateProblems(current, ResourceIndex.of(current), [update], limits, rejected);
  return problems.length === 0 ? { ok: true, resources: mergeUpdate(current, update) } : { ok: false, problems };
}
