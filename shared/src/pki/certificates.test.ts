import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  certificateUris,
  createCertificateAuthority,
  createSigningRequest,
  generateKeyPair,
  issueServerCertificate,
  signClientCertificate,
  signedBy,
} from './certificates.ts';
import { identityFromUris, identityUris, spiffeId } from './runtime-identity.ts';

describe('certificates', () => {
  it('issues a serving certificate for names and addresses, signed by the CA', async () => {
    const ca = await createCertificateAuthority('Causeway test CA');
    const server = await issueServerCertificate(ca, ['controller.example', '127.0.0.1', '::1']);
    const parsed = new X509Certificate(server.certificatePem);
    expect(parsed.checkHost('controller.example')).toBe('controller.example');
    expect(parsed.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(parsed.verify(new X509Certificate(ca.certificatePem).publicKey)).toBe(true);
    expect(new X509Certificate(ca.certificatePem).ca).toBe(true);
    expect(parsed.ca).toBe(false);
  });

  it('signs a client certificate for the key of a request, with the names the CA chose', async () => {
    const ca = await createCertificateAuthority('Causeway test CA');
    const keys = await generateKeyPair();
    const request = await createSigningRequest(keys, 'rt-1');
    const identity = { org: 'acme', zone: 'eu-1', nodeId: 'rt-1', labels: { env: 'prod', tier: 'edge' } };
    const issued = await signClientCertificate(ca, request, 'CN=rt-1', identityUris(identity), 60_000);
    expect(issued).toBeDefined();
    if (issued === undefined) return;
    expect(await signedBy(issued.certificatePem, ca.certificatePem)).toBe(true);
    expect(issued.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(60_000);
    expect(issued.serial).toMatch(/^[0-7][0-9a-f]{31}$/);
    const uris = certificateUris(issued.certificatePem);
    expect(uris[0]).toBe('spiffe://causeway/org/acme/zone/eu-1/runtime/rt-1');
    expect(identityFromUris(uris)).toEqual(identity);
  });

  it('refuses a signing request whose signature does not verify', async () => {
    const ca = await createCertificateAuthority('Causeway test CA');
    const request = await createSigningRequest(await generateKeyPair(), 'rt-1');
    const lines = request.split('\n');
    const tampered = [...lines.slice(0, 3), lines[3]?.replace(/[A-Za-z]/, (c) => (c === 'A' ? 'B' : 'A')), ...lines.slice(4)].join('\n');
    expect(await signClientCertificate(ca, tampered, 'CN=x', [], 60_000)).toBeUndefined();
    expect(await signClientCertificate(ca, 'not a request', 'CN=x', [], 60_000)).toBeUndefined();
  });
});

describe('runtime identities', () => {
  it('names shared runtimes apart from org runtimes', () => {
    expect(spiffeId({ org: null, zone: 'eu-1', nodeId: 'rt:1' })).toBe('spiffe://causeway/shared/zone/eu-1/runtime/rt%3A1');
    expect(identityFromUris(identityUris({ org: null, zone: 'eu-1', nodeId: 'rt:1', labels: {} }))).toEqual({ org: null, zone: 'eu-1', nodeId: 'rt:1', labels: {} });
  });

  it('reads nothing from names that break the rules', () => {
    expect(identityFromUris(['spiffe://other/org/acme/zone/eu-1/runtime/rt'])).toBeUndefined();
    expect(identityFromUris(['spiffe://causeway/org/Acme/zone/eu-1/runtime/rt'])).toBeUndefined();
    expect(identityFromUris(['spiffe://causeway/org/acme/zone/eu-1/runtime/-rt'])).toBeUndefined();
    expect(identityFromUris(['spiffe://causeway/org/acme/zone/eu-1/runtime/rt', 'urn:causeway:labels:bad key=1'])).toBeUndefined();
  });
});
