import { describe, expect, it } from 'vitest';
import { ConfigError } from '@causeway/shared';
import { loadRuntimeConfig } from './config.ts';

/** TLS settings every other test takes for granted: a CA and a join token. */
const joining = { CAUSEWAY_CA_CERT: '/etc/causeway/ca.crt', CAUSEWAY_RUNTIME_TOKEN: 'cwj_secret' };

function problems(env: Record<string, string>, base: Record<string, string> = joining): readonly string[] {
  try {
    loadRuntimeConfig({ ...base, ...env }, 'host-1');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('runtime config', () => {
  it('has defaults for everything', () => {
    const config = loadRuntimeConfig(joining, 'host-1');
    expect(config).toEqual({
      listen: { host: '127.0.0.1', port: 8080 },
      adminListen: { host: '127.0.0.1', port: 9901 },
      controllers: [{ host: '127.0.0.1', port: 9090 }],
      zone: 'default',
      nodeId: 'host-1-8080',
      nodeLabels: {},
      cacheDir: undefined,
      maxRequestTimeoutMs: 300_000,
      clientLimits: {
        headerTimeoutMs: 60_000,
        requestTimeoutMs: 300_000,
        keepAliveTimeoutMs: 5_000,
        bodyTimeoutMs: 60_000,
        sendTimeoutMs: 60_000,
        maxRequestBodyBytes: 0,
      },
      upstreamDenyCidrs: [
        { address: '169.254.0.0', prefix: 16, family: 'ipv4' },
        { address: 'fe80::', prefix: 10, family: 'ipv6' },
      ],
      logLevel: 'info',
      xdsSecurity: { mode: 'token', caCertFile: '/etc/causeway/ca.crt', joinToken: 'cwj_secret' },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.controllers)).toBe(true);
  });

  it('reads every variable', () => {
    const config = loadRuntimeConfig(
      {
        CAUSEWAY_LISTEN_ADDR: '0.0.0.0:0',
        CAUSEWAY_RUNTIME_ADMIN_ADDR: '[::1]:0',
        CAUSEWAY_CONTROLLERS: 'c1:9090, c2:9091',
        CAUSEWAY_ZONE: 'eu-1',
        CAUSEWAY_NODE_ID: 'rt-7',
        CAUSEWAY_NODE_LABELS: 'tier=edge, rack=r1',
        CAUSEWAY_CACHE_DIR: '/var/cache/causeway',
        CAUSEWAY_MAX_REQUEST_TIMEOUT_MS: '60000',
        CAUSEWAY_CLIENT_HEADER_TIMEOUT_MS: '10000',
        CAUSEWAY_CLIENT_REQUEST_TIMEOUT_MS: '0',
        CAUSEWAY_CLIENT_KEEPALIVE_TIMEOUT_MS: '75000',
        CAUSEWAY_CLIENT_BODY_TIMEOUT_MS: '30000',
        CAUSEWAY_CLIENT_SEND_TIMEOUT_MS: '20000',
        CAUSEWAY_MAX_REQUEST_BODY_BYTES: '1048576',
        CAUSEWAY_UPSTREAM_DENY_CIDRS: '169.254.169.254, 10.0.0.0/8, fd00:ec2::254/128',
        CAUSEWAY_LOG_LEVEL: 'debug',
        CAUSEWAY_CA_CERT: '/etc/causeway/ca.crt',
        CAUSEWAY_TLS_CERT: '/etc/causeway/runtime.crt',
        CAUSEWAY_TLS_KEY: '/etc/causeway/runtime.key',
      },
      'host-1',
    );
    expect(config).toEqual({
      listen: { host: '0.0.0.0', port: 0 },
      adminListen: { host: '::1', port: 0 },
      controllers: [
        { host: 'c1', port: 9090 },
        { host: 'c2', port: 9091 },
      ],
      zone: 'eu-1',
      nodeId: 'rt-7',
      nodeLabels: { tier: 'edge', rack: 'r1' },
      cacheDir: '/var/cache/causeway',
      maxRequestTimeoutMs: 60_000,
      clientLimits: {
        headerTimeoutMs: 10_000,
        requestTimeoutMs: 0,
        keepAliveTimeoutMs: 75_000,
        bodyTimeoutMs: 30_000,
        sendTimeoutMs: 20_000,
        maxRequestBodyBytes: 1_048_576,
      },
      upstreamDenyCidrs: [
        { address: '169.254.169.254', prefix: 32, family: 'ipv4' },
        { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
        { address: 'fd00:ec2::254', prefix: 128, family: 'ipv6' },
      ],
      logLevel: 'debug',
      xdsSecurity: { mode: 'files', caCertFile: '/etc/causeway/ca.crt', certFile: '/etc/causeway/runtime.crt', keyFile: '/etc/causeway/runtime.key' },
    });
  });

  it('streams in plaintext only when told so, and then takes no TLS settings', () => {
    expect(loadRuntimeConfig({ CAUSEWAY_XDS_INSECURE: 'true' }, 'host-1').xdsSecurity).toEqual({ mode: 'insecure' });
    expect(problems({ CAUSEWAY_XDS_INSECURE: 'true' })).toEqual([
      'CAUSEWAY_XDS_INSECURE: "true" together with CAUSEWAY_CA_CERT, CAUSEWAY_RUNTIME_TOKEN: choose plaintext or TLS',
    ]);
  });

  it.each([
    [{}, 'CAUSEWAY_CA_CERT: not set; the config stream is served over TLS only'],
    [{ CAUSEWAY_CA_CERT: '/ca.crt' }, 'CAUSEWAY_RUNTIME_TOKEN: not set, nor CAUSEWAY_TLS_CERT and CAUSEWAY_TLS_KEY'],
    [{ CAUSEWAY_CA_CERT: '/ca.crt', CAUSEWAY_TLS_CERT: '/rt.crt' }, 'CAUSEWAY_TLS_KEY: not set; certificate files need both'],
    [{ CAUSEWAY_CA_CERT: '/ca.crt', CAUSEWAY_RUNTIME_TOKEN: 't', CAUSEWAY_TLS_KEY: '/rt.key' }, 'CAUSEWAY_RUNTIME_TOKEN: given together with'],
    [{ CAUSEWAY_CA_CERT: '/ca.crt', CAUSEWAY_RUNTIME_TOKEN: 'a b' }, 'CAUSEWAY_RUNTIME_TOKEN: not a join token'],
  ])('needs TLS settings that make sense: %o', (env, message) => {
    const found = problems(env, {});
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('derives a node id from the host name, with the pid when the port is 0', () => {
    expect(loadRuntimeConfig({ ...joining, CAUSEWAY_LISTEN_ADDR: '127.0.0.1:0' }, 'Box_1.local').nodeId).toBe(`Box_1.local-pid${process.pid}`);
  });

  it.each([
    ['CAUSEWAY_LISTEN_ADDR', 'nope', 'CAUSEWAY_LISTEN_ADDR: "nope" is not host:port (port 0-65535)'],
    ['CAUSEWAY_RUNTIME_ADMIN_ADDR', 'x:70000', 'CAUSEWAY_RUNTIME_ADMIN_ADDR: "x:70000" is not host:port (port 0-65535)'],
    ['CAUSEWAY_CONTROLLERS', 'a:1,b', 'CAUSEWAY_CONTROLLERS: "b" is not host:port (port 1-65535)'],
    ['CAUSEWAY_ZONE', 'EU 1', 'CAUSEWAY_ZONE: "EU 1" is not a slug'],
    ['CAUSEWAY_NODE_ID', 'a b', 'CAUSEWAY_NODE_ID: "a b" is not an id'],
    ['CAUSEWAY_NODE_LABELS', 'tier', 'CAUSEWAY_NODE_LABELS: "tier" is not key=value'],
    ['CAUSEWAY_MAX_REQUEST_TIMEOUT_MS', '0', 'CAUSEWAY_MAX_REQUEST_TIMEOUT_MS: "0" is not a whole number'],
    ['CAUSEWAY_LOG_LEVEL', 'loud', 'CAUSEWAY_LOG_LEVEL: "loud" is not one of'],
    ['CAUSEWAY_CLIENT_BODY_TIMEOUT_MS', '0', 'CAUSEWAY_CLIENT_BODY_TIMEOUT_MS: "0" is not a whole number from 100'],
    ['CAUSEWAY_CLIENT_SEND_TIMEOUT_MS', '1s', 'CAUSEWAY_CLIENT_SEND_TIMEOUT_MS: "1s" is not a whole number'],
    ['CAUSEWAY_CLIENT_REQUEST_TIMEOUT_MS', '1000', 'CAUSEWAY_CLIENT_REQUEST_TIMEOUT_MS: "1000" is shorter than CAUSEWAY_CLIENT_HEADER_TIMEOUT_MS (60000)'],
    ['CAUSEWAY_MAX_REQUEST_BODY_BYTES', '-1', 'CAUSEWAY_MAX_REQUEST_BODY_BYTES: "-1" is not a whole number'],
    ['CAUSEWAY_UPSTREAM_DENY_CIDRS', '169.254.0.0/33', 'CAUSEWAY_UPSTREAM_DENY_CIDRS: "169.254.0.0/33" is not an IPv4 or IPv6 address'],
    ['CAUSEWAY_UPSTREAM_DENY_CIDRS', 'metadata.internal', 'CAUSEWAY_UPSTREAM_DENY_CIDRS: "metadata.internal" is not an IPv4 or IPv6 address'],
  ])('names %s when it is bad', (name, value, message) => {
    const found = problems({ [name]: value });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('reports every bad variable at once', () => {
    expect(problems({ CAUSEWAY_ZONE: 'Bad', CAUSEWAY_LOG_LEVEL: 'x', CAUSEWAY_CONTROLLERS: ',' })).toHaveLength(3);
  });

  it('refuses the same address for proxy and admin', () => {
    expect(problems({ CAUSEWAY_LISTEN_ADDR: '127.0.0.1:9000', CAUSEWAY_RUNTIME_ADMIN_ADDR: '127.0.0.1:9000' })).toEqual([
      'CAUSEWAY_RUNTIME_ADMIN_ADDR: "127.0.0.1:9000" is the same address as CAUSEWAY_LISTEN_ADDR',
    ]);
  });

  it('denies no upstream address with CAUSEWAY_UPSTREAM_DENY_CIDRS=none', () => {
    expect(loadRuntimeConfig({ ...joining, CAUSEWAY_UPSTREAM_DENY_CIDRS: 'none' }, 'host-1').upstreamDenyCidrs).toEqual([]);
  });

  it('refuses a label given twice', () => {
    expect(problems({ CAUSEWAY_NODE_LABELS: 'a=1,a=2' })).toEqual(['CAUSEWAY_NODE_LABELS: label "a" is given twice']);
  });
});
