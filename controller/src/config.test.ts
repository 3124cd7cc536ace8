import { describe, expect, it } from 'vitest';
import { ConfigError } from '@causeway/shared';
import { loadControllerConfig } from './config.ts';

const base = { CAUSEWAY_DATABASE_URL: 'postgres://u:p@localhost:5432/causeway', CAUSEWAY_ADMIN_TOKEN: 'a-long-enough-secret', CAUSEWAY_XDS_INSECURE: 'true' };

describe('loadControllerConfig', () => {
  it('applies defaults and freezes the result', () => {
    const config = loadControllerConfig(base);
    expect(config).toMatchObject({
      adminAddress: { host: '127.0.0.1', port: 9080 },
      xdsAddress: { host: '127.0.0.1', port: 9090 },
      reconcileIntervalMs: 1000,
      logLevel: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadControllerConfig({ CAUSEWAY_ADMIN_TOKEN: 'short', CAUSEWAY_ADMIN_ADDR: 'nowhere', CAUSEWAY_RECONCILE_INTERVAL_MS: '5000' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'CAUSEWAY_DATABASE_URL: is required (postgres://user:password@host:5432/db; `causeway dev` starts its own database)',
      'CAUSEWAY_ADMIN_TOKEN: is required, a secret of at least 16 characters',
      'CAUSEWAY_ADMIN_ADDR: "nowhere" is not host:port (port 0-65535)',
      'CAUSEWAY_RECONCILE_INTERVAL_MS: "5000" is not a whole number from 100 to 2000',
      expect.stringMatching(/^CAUSEWAY_XDS_TLS_CERT, CAUSEWAY_XDS_TLS_KEY and CAUSEWAY_CA_CERT: are required .* or set CAUSEWAY_XDS_INSECURE=true/),
    ]);
  });

  it('accepts IPv6 and port 0', () => {
    expect(loadControllerConfig({ ...base, CAUSEWAY_XDS_ADDR: '[::1]:0' }).xdsAddress).toEqual({ host: '::1', port: 0 });
  });
});
