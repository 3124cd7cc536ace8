import { describe, expect, it } from 'vitest';
import { ConfigError } from '@causeway/shared';
import { loadRuntimeConfig } from './config.ts';

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadRuntimeConfig(env, 'host-1');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('runtime config', () => {
  it('has defaults for everything', () => {
    const config = loadRuntimeConfig({}, 'host-1');
    expect(config).toEqual({
      listen: { host: '127.0.0.1', port: 8080 },
      adminListen: { host: '127.0.0.1', port: 9901 },
      controllers: [{ host: '127.0.0.1', port: 9090 }],
      zone: 'default',
      nodeId: 'host-1-8080',
      nodeLabels: {},
      cacheDir: undefined,
      maxRequestTimeoutMs: 300_000,
      logLevel: 'info',
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
        CAUSEWAY_LOG_LEVEL: 'debug',
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
      logLevel: 'debug',
    });
  });

  it('derives a node id from the host name, with the pid when the port is 0', () => {
    expect(loadRuntimeConfig({ CAUSEWAY_LISTEN_ADDR: '127.0.0.1:0' }, 'Box_1.local').nodeId).toBe(`Box_1.local-pid${process.pid}`);
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

  it('refuses a label given twice', () => {
    expect(problems({ CAUSEWAY_NODE_LABELS: 'a=1,a=2' })).toEqual(['CAUSEWAY_NODE_LABELS: label "a" is given twice']);
  });
});
