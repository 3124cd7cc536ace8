import {
  apiRules,
  canonicalBasePath,
  checkPolicies,
  checkZoneIssuers,
  gatewayRules,
  CausewayError,
  healthCheckPathProblem,
  healthCheckRules,
  hostProblem,
  httpMethods,
  lbPolicies,
  poolRules,
  zoneRules,
} from '@causeway/shared';
import type { ApiSpec, ConsumerSpec, GatewaySpec, Kind, Labels, PoolSpec, SpecByKind, UpstreamSpec, ZoneSpec } from '../store/records.ts';
import { consumerRules, kinds } from '../store/records.ts';
import { Checker, isObject } from './checker.ts';

export const API_VERSION = 'causeway/v1';

/** A resource document that passed validation, with every default filled in. */
export interface ValidDocument<K extends Kind = Kind> {
  readonly kind: K;
  readonly name: string;
  readonly labels: Labels;
  readonly spec: SpecByKind[K];
}

/** Longest base path accepted as written (its canonical form is bounded by the shared rule). */
const MAX_RAW_BASE_PATH = 1024;

function gatewaySpec(c: Checker, raw: unknown): GatewaySpec {
  const spec = c.object('spec', raw, ['url', 'zone', 'healthCheck', 'handshakePath'], true) ?? {};
  const hc = c.object('spec.healthCheck', spec.healthCheck, ['path', 'intervalMs', 'timeoutMs', 'healthyThreshold', 'unhealthyThreshold']) ?? {};
  const rules = healthCheckRules;
  const intervalMs = c.range('spec.healthCheck.intervalMs', hc.intervalMs, rules.intervalMs);
  const timeoutMs = c.range('spec.healthCheck.timeoutMs', hc.timeoutMs, rules.timeoutMs, Math.min(rules.timeoutMs.default, intervalMs));
  if (timeoutMs > intervalMs) c.fail('spec.healthCheck.timeoutMs', `${timeoutMs} must not exceed intervalMs (${intervalMs})`);
  const checkPath = c.string('spec.healthCheck.path', hc.path, rules.path, rules.maxPathLength);
  const pathRule = healthCheckPathProblem(checkPath);
  if (pathRule !== undefined) c.fail('spec.healthCheck.path', `${JSON.stringify(checkPath)} ${pathRule}`);
  const handshakePath = c.string('spec.handshakePath', spec.handshakePath, gatewayRules.handshakePath, gatewayRules.maxHandshakePathLength);
  const handshakeRule = healthCheckPathProblem(handshakePath);
  if (handshakeRule !== undefined) c.fail('spec.handshakePath', `${JSON.stringify(handshakePath)} ${handshakeRule}`);
  return {
    url: c.httpUrl('spec.url', spec.url),
    zone: c.slug('spec.zone', spec.zone, gatewayRules.zone),
    healthCheck: {
      path: checkPath,
      intervalMs,
      timeoutMs,
      healthyThreshold: c.range('spec.healthCheck.healthyThreshold', hc.healthyThreshold, rules.healthyThreshold),
      unhealthyThreshold: c.range('spec.healthCheck.unhealthyThreshold', hc.unhealthyThreshold, rules.unhealthyThreshold),
    },
    handshakePath,
  };
}

function poolSpec(c: Checker, raw: unknown): PoolSpec {
  const spec = c.object('spec', raw, ['members', 'description']) ?? {};
  const members = c.list('spec.members', spec.members, poolRules.maxMembers, (path, v) => c.slug(path, v));
  return { members: [...members].sort(), description: c.string('spec.description', spec.description, '', poolRules.maxDescriptionLength) };
}

function zoneSpec(c: Checker, raw: unknown): ZoneSpec {
  const spec = c.object('spec', raw, ['dtcUrl', 'failoverEligible', 'failoverPriority', 'issuers']) ?? {};
  // Issuers and a DTC URL are independent: a zone may have either, both or neither.
  const issuers = checkZoneIssuers(spec.issuers, 'spec.issuers');
  for (const problem of issuers.problems) c.fail(problem.path, problem.message);
  return {
    dtcUrl: c.httpUrl('spec.dtcUrl', spec.dtcUrl, ''),
    failoverEligible: c.boolean('spec.failoverEligible', spec.failoverEligible, zoneRules.failoverEligible),
    failoverPriority: c.range('spec.failoverPriority', spec.failoverPriority, zoneRules.failoverPriority),
    issuers: issuers.issuers,
  };
}

function upstream(c: Checker, raw: unknown): UpstreamSpec {
  const spec = c.object('spec.upstream', raw, ['gateway', 'pool'], true);
  if (spec === undefined) return { pool: '' };
  const hasGateway = spec.gateway !== undefined;
  const hasPool = spec.pool !== undefined;
  if (hasGateway === hasPool) {
    c.fail('spec.upstream', 'must name exactly one of gateway or pool');
    return { pool: '' };
  }
  return hasGateway ? { gateway: c.slug('spec.upstream.gateway', spec.gateway) } : { pool: c.slug('spec.upstream.pool', spec.pool) };
}

function apiSpec(c: Checker, raw: unknown): ApiSpec {
  const spec =
    c.object('spec', raw, ['basePath', 'hosts', 'methods', 'stripBasePath', 'upstream', 'timeouts', 'retries', 'loadBalancing', 'failover', 'runtimeSelector', 'policies'], true) ?? {};
  const timeouts = c.object('spec.timeouts', spec.timeouts, ['connectMs', 'requestMs']) ?? {};
  const retries = c.object('spec.retries', spec.retries, ['attempts', 'perTryTimeoutMs']) ?? {};
  const failover = c.object('spec.failover', spec.failover, ['enabled', 'zones']) ?? {};
  const selector = c.object('spec.runtimeSelector', spec.runtimeSelector, ['matchLabels']) ?? {};
  const hosts = c.list('spec.hosts', spec.hosts, apiRules.maxHosts, (path, v) => {
    const host = c.string(path, v, undefined, apiRules.maxHostLength);
    const rule = hostProblem(host);
    if (rule !== undefined && typeof v === 'string' && v.length <= apiRules.maxHostLength) c.fail(path, `${JSON.stringify(v)} ${rule}`);
    return host;
  });
  const methods = c.list('spec.methods', spec.methods, httpMethods.length, (path, v) => c.oneOf(path, v, 'GET', httpMethods));
  const policies = spec.policies === undefined ? undefined : checkPolicies(spec.policies, 'spec.policies');
  for (const problem of policies?.problems ?? []) c.fail(problem.path, problem.message);
  return {
    basePath: c.canonical('spec.basePath', spec.basePath, canonicalBasePath, MAX_RAW_BASE_PATH),
    hosts,
    methods: [...methods].sort(),
    stripBasePath: c.boolean('spec.stripBasePath', spec.stripBasePath, apiRules.stripBasePath),
    upstream: upstream(c, spec.upstream),
    timeouts: {
      connectMs: c.range('spec.timeouts.connectMs', timeouts.connectMs, apiRules.timeouts.connectMs),
      requestMs: c.range('spec.timeouts.requestMs', timeouts.requestMs, apiRules.timeouts.requestMs),
    },
    retries: {
      attempts: c.range('spec.retries.attempts', retries.attempts, apiRules.retries.attempts),
      perTryTimeoutMs: c.range('spec.retries.perTryTimeoutMs', retries.perTryTimeoutMs, apiRules.retries.perTryTimeoutMs),
    },
    loadBalancing: c.oneOf('spec.loadBalancing', spec.loadBalancing, apiRules.loadBalancing, lbPolicies),
    failover: {
      enabled: c.boolean('spec.failover.enabled', failover.enabled, apiRules.failoverEnabled),
      zones: c.list('spec.failover.zones', failover.zones, apiRules.maxFailoverZones, (path, v) => c.slug(path, v)),
    },
    runtimeSelector: { matchLabels: c.runtimeLabels('spec.runtimeSelector.matchLabels', selector.matchLabels, apiRules.maxRuntimeSelectorLabels) },
    ...(policies !== undefined && { policies: policies.policies }),
  };
}

function consumerSpec(c: Checker, raw: unknown): ConsumerSpec {
  const spec = c.object('spec', raw, ['description']) ?? {};
  return { description: c.string('spec.description', spec.description, '', consumerRules.maxDescriptionLength) };
}

const specCheckers: { readonly [K in Kind]: (c: Checker, raw: unknown) => SpecByKind[K] } = {
  Api: apiSpec,
  Consumer: consumerSpec,
  Gateway: gatewaySpec,
  GatewayPool: poolSpec,
  Zone: zoneSpec,
};

/**
 * Checks a resource document (`apiVersion`, `kind`, `metadata`, `spec`) and fills in
 * defaults. `expected` is what the URL says; a document may omit kind and name then.
 */
export function validateDocument(input: unknown, expected?: { kind: Kind; name: string }): ValidDocument {
  const c = new Checker();
  if (!isObject(input)) {
    throw CausewayError.invalid([{ path: '(body)', message: 'is not a JSON or YAML object' }]);
  }
  const doc = c.object('(body)', input, ['apiVersion', 'kind', 'metadata', 'spec', 'status']) ?? {};
  if (doc.apiVersion !== undefined && doc.apiVersion !== API_VERSION) {
    c.fail('apiVersion', `${JSON.stringify(doc.apiVersion)} is not supported (use "${API_VERSION}")`);
  }
  const kind = c.oneOf('kind', doc.kind, expected?.kind ?? 'Api', kinds);
  if (expected === undefined && doc.kind === undefined) c.fail('kind', `is required (one of ${kinds.join(', ')})`);
  if (expected !== undefined && doc.kind !== undefined && kind !== expected.kind) {
    c.fail('kind', `"${kind}" does not match the URL, which is for ${expected.kind}`);
  }
  const metadata = c.object('metadata', doc.metadata, ['name', 'labels', 'revision', 'createdAt', 'updatedAt']) ?? {};
  const name = c.slug('metadata.name', metadata.name ?? expected?.name);
  if (expected !== undefined && name !== expected.name) {
    c.fail('metadata.name', `"${name}" does not match the name in the URL ("${expected.name}")`);
  }
  const labels = c.labels('metadata.labels', metadata.labels);
  const spec = specCheckers[kind](c, doc.spec);
  c.done();
  return { kind, name, labels, spec };
}
