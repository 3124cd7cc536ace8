import { describe, expect, it } from 'vitest';
import { LbPolicy, MemberHealth } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { api, cluster, zone } from '../testing/resources.ts';
import { emptyResources, mergeUpdate, type Resources } from './resources.ts';
import { validateApi, validateCluster, validateUpdate, validateZone } from './validate.ts';

const limits = { maxRequestTimeoutMs: 300_000 };

describe('api rules', () => {
  it('accepts a well-formed api', () => {
    const ok = api('acme/orders', {
      hosts: ['api.example.com', '10.0.0.1'],
      basePath: '/v1/orders:batch/',
      methods: ['GET', 'POST'],
      timeouts: { requestMs: 300_000 },
    });
    expect(validateApi('acme/orders', ok, limits)).toEqual([]);
  });

  it.each([
    ['orders', "must start with '/'"],
    ['/a//b', "has an empty segment ('//')"],
    ['/a/../b', "has a '.' or '..' segment (plain or percent-encoded)"],
    ['/a/%2E%2e', "has a '.' or '..' segment (plain or percent-encoded)"],
    ['/x%zz', "has broken percent-encoding ('%' must start an escape of UTF-8, like %2F)"],
    ['', "is empty; must start with '/' ('/' serves every path)"],
    ['/a b', 'has a character outside letters, digits, "-._~!$&\'()*+,;=:@/" and %-escapes'],
  ])('rejects base_path %s', (basePath, rule) => {
    expect(validateApi('acme/x', api('acme/x', { basePath }), limits)).toEqual([
      `api "acme/x": base_path: ${JSON.stringify(basePath)} ${rule}`,
    ]);
  });

  it('rejects hosts that are not lower-case names without port', () => {
    expect(validateApi('acme/x', api('acme/x', { hosts: ['ok.com', 'Bad.com', 'a.com:80', '*.a.com'] }), limits)).toEqual([
      'api "acme/x": hosts[1]: "Bad.com" is not a lowercase host name without port',
      'api "acme/x": hosts[2]: "a.com:80" is not a lowercase host name without port',
      'api "acme/x": hosts[3]: "*.a.com" is not a lowercase host name without port',
    ]);
  });

  it('rejects methods the controller does not accept', () => {
    const rule = 'is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
    expect(validateApi('acme/x', api('acme/x', { methods: ['GET', 'get', 'PO ST', 'M-SEARCH'] }), limits)).toEqual([
      `api "acme/x": methods[1]: "get" ${rule}`,
      `api "acme/x": methods[2]: "PO ST" ${rule}`,
      `api "acme/x": methods[3]: "M-SEARCH" ${rule}`,
    ]);
  });

  it('rejects a request timeout above the shared maximum, and one above a stricter CAUSEWAY_MAX_REQUEST_TIMEOUT_MS', () => {
    expect(validateApi('acme/x', api('acme/x', { timeouts: { requestMs: 300_001 } }), limits)).toEqual([
      'api "acme/x": timeouts.request_ms: 300001 is not a whole number from 1 to 300000',
      'api "acme/x": timeouts.request_ms: 300001 exceeds CAUSEWAY_MAX_REQUEST_TIMEOUT_MS (300000) of this runtime',
    ]);
    expect(validateApi('acme/x', api('acme/x', { timeouts: { requestMs: 20_000 } }), { maxRequestTimeoutMs: 10_000 })).toEqual([
      'api "acme/x": timeouts.request_ms: 20000 exceeds CAUSEWAY_MAX_REQUEST_TIMEOUT_MS (10000) of this runtime',
    ]);
  });

  it('rejects an api without timeouts or retries (the controller always sends them)', () => {
    const bare = api('acme/x');
    bare.timeouts = undefined;
    bare.retries = undefined;
    expect(validateApi('acme/x', bare, limits)).toEqual([
      'api "acme/x": timeouts.connect_ms: "absent" is not a whole number from 1 to 60000',
      'api "acme/x": timeouts.request_ms: "absent" is not a whole number from 1 to 300000',
      'api "acme/x": retries.attempts: "absent" is not a whole number from 0 to 10',
      'api "acme/x": retries.per_try_timeout_ms: "absent" is not a whole number from 0 to 300000',
    ]);
  });

  it('rejects an api without cluster', () => {
    expect(validateApi('acme/x', api('acme/x', { cluster: '' }), limits)).toEqual(['api "acme/x": cluster: "" is empty']);
  });

  it('rejects an api without upstream label, load-balancing policy or failover: the runtime has no default of its own', () => {
    const bare = api('acme/x', { upstreamLabel: '', lbPolicy: LbPolicy.UNSPECIFIED });
    bare.failover = undefined;
    expect(validateApi('acme/x', bare, limits)).toEqual([
      'api "acme/x": upstream_label: "" is empty',
      'api "acme/x": lb_policy: 0 is not a known load-balancing policy',
      'api "acme/x": failover: "absent" must be set (enabled, zones)',
    ]);
  });
});

describe('cluster rules', () => {
  it('accepts http and https members', () => {
    const ok = cluster('acme/pool/p', [
      { name: 'a', url: 'http://10.0.0.1:8000' },
      { name: 'b', url: 'https://gw.example.com/base/' },
    ]);
    expect(validateCluster('acme/pool/p', ok)).toEqual([]);
  });

  it('rejects member URLs that are not plain http(s) URLs, and duplicate names', () => {
    const bad = cluster('acme/pool/p', [
      { name: 'a', url: 'ftp://x' },
      { name: 'b', url: 'not a url' },
      { name: 'c', url: 'http://user:pw@x' },
      { name: 'd', url: 'http://x/?q=1' },
      { name: 'd', url: 'http://y' },
      { name: '', url: 'http://z' },
    ]);
    expect(validateCluster('acme/pool/p', bad)).toEqual([
      'cluster "acme/pool/p": members[0].url: "ftp://x" must use http or https',
      'cluster "acme/pool/p": members[1].url: "not a url" is not an absolute URL like http://host:port',
      'cluster "acme/pool/p": members[2].url: "http://user:pw@x" must not contain credentials',
      'cluster "acme/pool/p": members[3].url: "http://x/?q=1" must not have a query or fragment',
      'cluster "acme/pool/p": members[4].name: "d" is used by two members',
      'cluster "acme/pool/p": members[5].name: "" is empty',
    ]);
  });

  it('rejects a member without the control plane\'s verdict: the runtime has no default of its own', () => {
    const unspecified = cluster('acme/pool/p', [{ name: 'a', url: 'http://10.0.0.1' }]);
    const member = unspecified.members[0];
    if (member !== undefined) member.controlPlaneHealth = MemberHealth.UNSPECIFIED;
    expect(validateCluster('acme/pool/p', unspecified)).toEqual(['cluster "acme/pool/p": members[0].control_plane_health: 0 is not a known health value']);
  });

  it('rejects health check settings left at zero: the controller fills the defaults in', () => {
    const zero = cluster('acme/pool/p', [{ name: 'a', url: 'http://10.0.0.1', healthCheck: { intervalMs: 0, timeoutMs: 0, healthyThreshold: 0, unhealthyThreshold: 0 } }]);
    expect(validateCluster('acme/pool/p', zero)).toEqual([
      'cluster "acme/pool/p": members[0].health_check.interval_ms: 0 is not a whole number from 100 to 300000',
      'cluster "acme/pool/p": members[0].health_check.timeout_ms: 0 is not a whole number from 50 to 60000',
      'cluster "acme/pool/p": members[0].health_check.healthy_threshold: 0 is not a whole number from 1 to 10',
      'cluster "acme/pool/p": members[0].health_check.unhealthy_threshold: 0 is not a whole number from 1 to 10',
    ]);
  });

  it('accepts absolute health check paths and rejects others', () => {
    const checks = cluster('acme/pool/p', [
      { name: 'a', url: 'http://10.0.0.1', healthCheck: { path: '/health?full=1' } },
      { name: 'b', url: 'http://10.0.0.2', healthCheck: { path: '' } },
      { name: 'c', url: 'http://10.0.0.3', healthCheck: { path: 'health' } },
      { name: 'd', url: 'http://10.0.0.4', healthCheck: { path: '/a b' } },
    ]);
    expect(validateCluster('acme/pool/p', checks)).toEqual([
      `cluster "acme/pool/p": members[1].health_check.path: "" is not an absolute path (starting with '/', printable, no spaces or '#', max 256)`,
      `cluster "acme/pool/p": members[2].health_check.path: "health" is not an absolute path (starting with '/', printable, no spaces or '#', max 256)`,
      `cluster "acme/pool/p": members[3].health_check.path: "/a b" is not an absolute path (starting with '/', printable, no spaces or '#', max 256)`,
    ]);
  });
});

describe('zone rules', () => {
  it('accepts no DTC URL or an http(s) one, rejects others', () => {
    expect(validateZone('eu-1', zone('eu-1'))).toEqual([]);
    expect(validateZone('eu-1', zone('eu-1', 'https://eu-1.example.com'))).toEqual([]);
    expect(validateZone('eu-1', zone('eu-1', 'tcp://x'))).toEqual(['zone "eu-1": dtc_url: "tcp://x" must use http or https']);
  });
});

describe('update references', () => {
  const withCluster = mergeUpdate(emptyResources, {
    kind: 'cluster',
    revision: 1n,
    upserts: new Map([['acme/pool/main', { version: '1', message: cluster('acme/pool/main', []) }]]),
    removals: [],
  });
  const base: Resources = mergeUpdate(withCluster, {
    kind: 'api',
    revision: 1n,
    upserts: new Map([['acme/orders', { version: '1', message: api('acme/orders') }]]),
    removals: [],
  });

  it('rejects an api whose cluster does not exist', () => {
    const result = validateUpdate(
      base,
      { kind: 'api', revision: 2n, upserts: new Map([['acme/x', { version: '2', message: api('acme/x', { cluster: 'acme/pool/gone' }) }]]), removals: [] },
      limits,
    );
    expect(result).toEqual({ ok: false, problems: ['api "acme/x": cluster: "acme/pool/gone" does not exist'] });
  });

  it('rejects removing a cluster that a remaining api uses', () => {
    const result = validateUpdate(base, { kind: 'cluster', revision: 2n, upserts: new Map(), removals: ['acme/pool/main'] }, limits);
    expect(result).toEqual({ ok: false, problems: ['cluster "acme/pool/main": cannot be removed while api "acme/orders" uses it'] });
  });

  it('accepts removing a cluster once its apis are gone', () => {
    const withoutApi = mergeUpdate(base, { kind: 'api', revision: 2n, upserts: new Map(), removals: ['acme/orders'] });
    const result = validateUpdate(withoutApi, { kind: 'cluster', revision: 3n, upserts: new Map(), removals: ['acme/pool/main'] }, limits);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.resources.cluster.size).toBe(0);
  });
});
