import { CausewayError } from '@causeway/shared';
import type { ApiSpec, GatewaySpec, Kind, Labels, PoolSpec, SpecByKind, UpstreamSpec, ZoneSpec } from '../store/records.ts';
import { kinds } from '../store/records.ts';
import { Checker, isObject } from './checker.ts';

export const API_VERSION = 'causeway/v1';

export const httpMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const lbPolicies = ['random', 'round-robin', 'least-request'] as const;

/** A resource document that passed validation, with every default filled in. */
export interface ValidDocument<K extends Kind = Kind> {
  readonly kind: K;
  readonly name: string;
  readonly labels: Labels;
  readonly spec: SpecByKind[K];
}

const segment = /^[A-Za-z0-9._~!$&'()*+,;=:@%-]+$/;
const hostname = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function basePath(c: Checker, path: string, value: unknown): string {
  const text = c.string(path, value, undefined, 256);
  if (text === '') return '/';
  const rule = "must start with '/', have no empty, '.' or '..' segments and no trailing '/'";
  if (!text.startsWith('/')) {
    c.fail(path, `"${text}" ${rule}`);
    return text;
  }
  if (text === '/') return text;
  const segments = text.slice(1).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..' || !segment.test(s))) c.fail(path, `"${text}" ${rule}`);
  return text;
}

function gatewaySpec(c: Checker, raw: unknown): GatewaySpec {
  const spec = c.object('spec', raw, ['url', 'zone', 'healthCheck'], true) ?? {};
  const hc = c.object('spec.healthCheck', spec.healthCheck, ['path', 'intervalMs', 'timeoutMs', 'healthyThreshold', 'unhealthyThreshold']) ?? {};
  const intervalMs = c.integer('spec.healthCheck.intervalMs', hc.intervalMs, 5_000, 500, 300_000);
  const timeoutMs = c.integer('spec.healthCheck.timeoutMs', hc.timeoutMs, Math.min(2_000, intervalMs), 100, 60_000);
  if (timeoutMs > intervalMs) c.fail('spec.healthCheck.timeoutMs', `${timeoutMs} must not exceed intervalMs (${intervalMs})`);
  const checkPath = c.string('spec.healthCheck.path', hc.path, '/', 256);
  if (!checkPath.startsWith('/')) c.fail('spec.healthCheck.path', `"${checkPath}" must start with '/'`);
  return {
    url: c.httpUrl('spec.url', spec.url),
    zone: c.slug('spec.zone', spec.zone, 'default'),
    healthCheck: {
      path: checkPath,
      intervalMs,
      timeoutMs,
      healthyThreshold: c.integer('spec.healthCheck.healthyThreshold', hc.healthyThreshold, 2, 1, 10),
      unhealthyThreshold: c.integer('spec.healthCheck.unhealthyThreshold', hc.unhealthyThreshold, 3, 1, 10),
    },
  };
}

function poolSpec(c: Checker, raw: unknown): PoolSpec {
  const spec = c.object('spec', raw, ['members', 'description']) ?? {};
  const members = c.list('spec.members', spec.members, 256, (path, v) => c.slug(path, v));
  return { members: [...members].sort(), description: c.string('spec.description', spec.description, '', 256) };
}

function zoneSpec(c: Checker, raw: unknown): ZoneSpec {
  const spec = c.object('spec', raw, ['dtcUrl', 'failoverEligible', 'failoverPriority']) ?? {};
  return {
    dtcUrl: c.httpUrl('spec.dtcUrl', spec.dtcUrl, ''),
    failoverEligible: c.boolean('spec.failoverEligible', spec.failoverEligible, true),
    failoverPriority: c.integer('spec.failoverPriority', spec.failoverPriority, 100, 0, 1_000),
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
    c.object('spec', raw, ['basePath', 'hosts', 'methods', 'stripBasePath', 'upstream', 'timeouts', 'retries', 'loadBalancing', 'failover'], true) ?? {};
  const timeouts = c.object('spec.timeouts', spec.timeouts, ['connectMs', 'requestMs']) ?? {};
  const retries = c.object('spec.retries', spec.retries, ['attempts', 'perTryTimeoutMs']) ?? {};
  const failover = c.object('spec.failover', spec.failover, ['enabled', 'zones']) ?? {};
  const hosts = c.list('spec.hosts', spec.hosts, 64, (path, v) => {
    const host = c.string(path, v, undefined, 253);
    if (!hostname.test(host)) c.fail(path, `${JSON.stringify(v)} is not a lowercase host name without port`);
    return host;
  });
  const methods = c.list('spec.methods', spec.methods, httpMethods.length, (path, v) =>
    c.oneOf(path, v, 'GET', httpMethods),
  );
  return {
    basePath: basePath(c, 'spec.basePath', spec.basePath),
    hosts,
    methods: [...methods].sort(),
    stripBasePath: c.boolean('spec.stripBasePath', spec.stripBasePath, true),
    upstream: upstream(c, spec.upstream),
    timeouts: {
      connectMs: c.integer('spec.timeouts.connectMs', timeouts.connectMs, 2_000, 1, 60_000),
      requestMs: c.integer('spec.timeouts.requestMs', timeouts.requestMs, 15_000, 1, 3_600_000),
    },
    retries: {
      attempts: c.integer('spec.retries.attempts', retries.attempts, 2, 0, 10),
      perTryTimeoutMs: c.integer('spec.retries.perTryTimeoutMs', retries.perTryTimeoutMs, 0, 0, 3_600_000),
    },
    loadBalancing: c.oneOf('spec.loadBalancing', spec.loadBalancing, 'random', lbPolicies),
    failover: {
      enabled: c.boolean('spec.failover.enabled', failover.enabled, false),
      zones: c.list('spec.failover.zones', failover.zones, 32, (path, v) => c.slug(path, v)),
    },
  };
}

const specCheckers: { readonly [K in Kind]: (c: Checker, raw: unknown) => SpecByKind[K] } = {
  Api: apiSpec,
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
