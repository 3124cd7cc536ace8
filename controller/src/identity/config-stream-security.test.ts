import { describe, expect, it } from 'vitest';
import { expiryWarnings } from './config-stream-security.ts';

const DAY_MS = 86_400_000;
const now = Date.parse('2026-06-01T00:00:00Z');
const expiring = (certificate: 'serving' | 'ca', inMs: number) => ({ certificate, expiresAt: new Date(now + inMs) });

describe('expiryWarnings (/readyz of a TLS controller)', () => {
  it('says nothing of certificates valid for more than 7 days', () => {
    expect(expiryWarnings([expiring('serving', 7 * DAY_MS + 60_000), expiring('ca', 3_650 * DAY_MS)], now)).toEqual([]);
  });

  it('warns 7 days before a certificate expires, naming it, its variable and the days left', () => {
    expect(expiryWarnings([expiring('serving', 7 * DAY_MS), expiring('ca', 36 * 3_600_000)], now)).toEqual([
      'the serving certificate of the config stream (CAUSEWAY_XDS_TLS_CERT) expires at 2026-06-08T00:00:00.000Z, in 7 day(s): replace it',
      'the CA certificate that signs runtime certificates (CAUSEWAY_CA_CERT) expires at 2026-06-02T12:00:00.000Z, in 2 day(s): replace it',
    ]);
  });

  it('says when one has expired', () => {
    expect(expiryWarnings([expiring('serving', -1)], now)).toEqual(['the serving certificate of the config stream (CAUSEWAY_XDS_TLS_CERT) expired at 2026-05-31T23:59:59.999Z']);
  });
});
