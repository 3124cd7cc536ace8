import { describe, expect, it } from 'vitest';
import { CausewayError } from '@causeway/shared';
import { validateDocument } from './validate.ts';

function problems(input: unknown, expected?: { kind: 'Api' | 'Gateway' | 'GatewayPool' | 'Zone'; name: string }): string[] {
  try {
    validateDocument(input, expected);
  } catch (error) {
    if (error instanceof CausewayError && error.code === 'invalid_argument') return error.details.map((d) => `${d.path}: ${d.message}`);
    throw error;
  }
  return [];
}

const api = (spec: Record<string, unknown>) => ({ apiVersion: 'causeway/v1', kind: 'Api', metadata: { name: 'orders' }, spec: { upstream: { pool: 'p' }, ...spec } });

describe('validateDocument', () => {
  it('fills in every default of an API', () => {
    const doc = validateDocument(api({ basePath: '/orders' }));
    expect(doc).toEqual({
      kind: 'Api',
      name: 'orders',
      labels: {},
      spec: {
        basePath: '/orders',
        hosts: [],
        methods: [],
        stripBasePath: true,
        upstream: { pool: 'p' },
        timeouts: { connectMs: 2000, requestMs: 15000 },
        retries: { attempts: 2, perTryTimeoutMs: 0 },
        loadBalancing: 'random',
        failover: { enabled: false, zones: [] },
        runtimeSelector: { matchLabels: {} }, // every runtime that serves the org
      },
    });
  });

  it('keeps a runtime selector and names a bad label in it', () => {
    const doc = validateDocument(api({ basePath: '/o', runtimeSelector: { matchLabels: { env: 'prod' } } }));
    expect(doc.spec).toMatchObject({ runtimeSelector: { matchLabels: { env: 'prod' } } });
    const [problem] = problems(api({ basePath: '/o', runtimeSelector: { matchLabels: { env: 7 } } }));
    expect(problem).toMatch(/^spec\.runtimeSelector\.matchLabels\.env: 7 /);
  });

  it('names the field, the value and the rule of a bad slug', () => {
    expect(problems(api({ basePath: '/o', upstream: { pool: 'Orders' } }))).toEqual([
      `spec.upstream.pool: "Orders" is not a slug (lowercase letters, digits, '-', max 32)`,
    ]);
    expect(problems({ kind: 'Api', metadata: { name: 'a'.repeat(33) }, spec: { basePath: '/', upstream: { pool: 'p' } } })[0]).toMatch(/^metadata\.name: "a{33}" is not a slug/);
  });

  it('lists every problem at once', () => {
    expect(problems(api({ basePath: 'orders', methods: ['GET', 'FETCH', 'GET'], timeouts: { connectMs: 0 }, extra: 1 }))).toEqual([
      // The list of known fields grows with the API resource; the problem names it.
      expect.stringMatching(/^spec\.extra: unknown field \(expected one of basePath, hosts, methods, .*runtimeSelector/),
      'spec.methods[1]: "FETCH" is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
      'spec.methods[2]: "GET" is listed twice',
      `spec.basePath: "orders" must start with '/'`,
      'spec.timeouts.connectMs: 0 is not a whole number from 1 to 60000',
    ]);
  });

  it.each([
    ['/orders//x', "has an empty segment ('//')"],
    ['/a/../b', "has a '.' or '..' segment (plain or percent-encoded)"],
    ['/%2e%2e', "has a '.' or '..' segment (plain or percent-encoded)"],
    ['/x/%2e%2E/y', "has a '.' or '..' segment (plain or percent-encoded)"],
    ['/x%zz', "has broken percent-encoding ('%' must start an escape of UTF-8, like %2F)"],
    ['/x%C3', "has broken percent-encoding ('%' must start an escape of UTF-8, like %2F)"],
    ['', "is empty; must start with '/' ('/' serves every path)"],
    ['/a b', 'has a character outside letters, digits, "-._~!$&\'()*+,;=:@/" and %-escapes'],
  ])('regression: refuses base path %j, which no runtime would serve', (basePath, rule) => {
    expect(problems(api({ basePath }))).toEqual([`spec.basePath: ${JSON.stringify(basePath)} ${rule}`]);
  });

  it.each([
    ['/orders/', '/orders'],
    ['/%64up', '/dup'],
    ['/a%2fb', '/a%2Fb'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/100%25', '/100%25'],
    ['/v1/orders:batch', '/v1/orders:batch'],
  ])('stores base path %j in its canonical form %j', (basePath, canonical) => {
    expect(validateDocument(api({ basePath })).spec).toMatchObject({ basePath: canonical });
  });

  it('regression: refuses a request timeout above what runtimes serve by default', () => {
    expect(problems(api({ basePath: '/o', timeouts: { requestMs: 3_600_000 } }))).toEqual([
      'spec.timeouts.requestMs: 3600000 is not a whole number from 1 to 300000',
    ]);
  });

  it('accepts / as a catch-all base path', () => {
    expect(validateDocument(api({ basePath: '/' })).spec).toMatchObject({ basePath: '/' });
  });

  it('requires exactly one of gateway or pool as upstream', () => {
    expect(problems(api({ basePath: '/o', upstream: { pool: 'p', gateway: 'g' } }))).toEqual(['spec.upstream: must name exactly one of gateway or pool']);
    expect(problems(api({ basePath: '/o', upstream: {} }))).toEqual(['spec.upstream: must name exactly one of gateway or pool']);
    expect(problems({ kind: 'Api', metadata: { name: 'o' }, spec: { basePath: '/o' } })).toEqual(['spec.upstream: is required']);
  });

  it('rejects hosts with ports or capitals', () => {
    expect(problems(api({ basePath: '/o', hosts: ['api.example.com:8080', 'API.example.com'] }))).toEqual([
      'spec.hosts[0]: "api.example.com:8080" is not a lowercase host name without port',
      'spec.hosts[1]: "API.example.com" is not a lowercase host name without port',
    ]);
  });

  it('checks gateway URLs and health check settings', () => {
    const gw = (spec: Record<string, unknown>) => ({ kind: 'Gateway', metadata: { name: 'gw' }, spec });
    expect(problems(gw({ url: 'ftp://x' }))).toEqual(['spec.url: "ftp://x" must use http or https']);
    expect(problems(gw({ url: 'not a url' }))).toEqual(['spec.url: "not a url" is not an absolute URL like http://host:port']);
    expect(problems(gw({ url: 'http://u:p@x' }))).toEqual(['spec.url: "http://u:p@x" must not contain credentials']);
    expect(problems(gw({}))).toEqual(['spec.url: is required']);
    expect(problems(gw({ url: 'http://x', healthCheck: { intervalMs: 1000, timeoutMs: 2000 } }))).toEqual([
      'spec.healthCheck.timeoutMs: 2000 must not exceed intervalMs (1000)',
    ]);
    expect(problems(gw({ url: 'http://x/?' }))).toEqual(['spec.url: "http://x/?" must not have a query or fragment']);
    expect(problems(gw({ url: 'http://@x' }))).toEqual(['spec.url: "http://@x" must not contain credentials']);
    expect(problems(gw({ url: 'http://x/a\tb' }))).toEqual(['spec.url: "http://x/a\\tb" contains spaces or control characters']);
    expect(validateDocument(gw({ url: 'http://x:80/' })).spec).toMatchObject({ url: 'http://x', zone: 'default' });
  });

  it('regression: stores gateway URLs normalized', () => {
    const gw = (url: string) => validateDocument({ kind: 'Gateway', metadata: { name: 'gw' }, spec: { url } }).spec;
    expect(gw('HTTP://GW.Example.com:8080/Base/')).toMatchObject({ url: 'http://gw.example.com:8080/Base' });
    expect(gw('https://gw.example.com:443')).toMatchObject({ url: 'https://gw.example.com' });
    expect(gw('http://[::1]:9000/a/../b')).toMatchObject({ url: 'http://[::1]:9000/b' });
  });

  it('sorts pool members and rejects duplicates', () => {
    expect(validateDocument({ kind: 'GatewayPool', metadata: { name: 'p' }, spec: { members: ['b', 'a'] } }).spec).toEqual({ members: ['a', 'b'], description: '' });
    expect(problems({ kind: 'GatewayPool', metadata: { name: 'p' }, spec: { members: ['a', 'a'] } })).toEqual(['spec.members[1]: "a" is listed twice']);
  });

  it('checks the envelope against the URL', () => {
    expect(problems({ apiVersion: 'v2', kind: 'Gateway', metadata: { name: 'other' }, spec: { url: 'http://x' } }, { kind: 'Api', name: 'orders' })).toEqual([
      'apiVersion: "v2" is not supported (use "causeway/v1")',
      'kind: "Gateway" does not match the URL, which is for Api',
      'metadata.name: "other" does not match the name in the URL ("orders")',
    ]);
    expect(problems('text')).toEqual(['(body): is not a JSON or YAML object']);
    expect(problems({ metadata: { name: 'x' }, spec: {} })).toContain('kind: is required (one of Gateway, GatewayPool, Zone, Consumer, Api)');
  });

  it('takes the name from the URL when the document has none', () => {
    expect(validateDocument({ spec: { url: 'http://x' } }, { kind: 'Gateway', name: 'gw' })).toMatchObject({ kind: 'Gateway', name: 'gw' });
  });

  it('checks labels', () => {
    expect(problems({ kind: 'Zone', metadata: { name: 'z', labels: { team: 7, '-bad': 'x' } }, spec: {} })).toEqual([
      'metadata.labels.team: 7 is not a string of at most 63 characters',
      'metadata.labels.-bad: is not a valid label key (letters, digits, ".", "_", "/", "-", max 63)',
    ]);
  });
});
