// @peculiar/x509 resolves its algorithms through a container that needs the Reflect metadata API.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const keyAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Certificates start a little in the past: clocks of two machines are never quite equal. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** A certificate with its private key, both PEM. */
export interface KeyedCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface IssuedCertificate {
  readonly certificatePem: string;
  /** Hexadecimal, lower-case: what a deny list names. */
  readonly serial: string;
  readonly notAfter: Date;
}

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), keyAlgorithm, false, ['sign']);
}

/** A positive 128-bit serial, as RFC 5280 asks (unique per CA, at most 20 octets). */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

export async function createCertificateAuthority(commonName: string, validityDays = 3650): Promise<KeyedCertificate> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + validityDays * DAY_MS),
    keys,
    signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: certificate.toString('pem'), privateKeyPem: await privateKeyPem(keys.privateKey) };
}

function hostNames(hosts: readonly string[]): x509.JsonGeneralName[] {
  return hosts.map((host) => (/^[\d.]+$|:/.test(host) ? { type: 'ip', value: host } : { type: 'dns', value: host }));
}

interface SignParams {
  readonly publicKey: CryptoKey | x509.PublicKey;
  readonly subject: string;
  readonly notAfter: Date;
  readonly names: x509.JsonGeneralName[];
  readonly usage: x509.ExtendedKeyUsage;
}

async function signWithCa(ca: KeyedCertificate, params: SignParams): Promise<IssuedCertificate> {
  const caCertificate = new x509.X509Certificate(ca.certificatePem);
  const serial = newSerial();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: params.subject,
    issuer: caCertificate.subject,
    notBefore: new Date(Date.now() - CLOCK_SKEW_MS),
    notAfter: params.notAfter,
    publicKey: params.publicKey,
    signingKey: await importPrivateKey(ca.privateKeyPem),
    signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([params.usage], false),
      new x509.SubjectAlternativeNameExtension(params.names, false),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate, false),
    ],
  });
  return { certificatePem: certificate.toString('pem'), serial, notAfter: certificate.notAfter };
}

/** A controller's serving certificate for its DNS names and IP addresses. */
export async function issueServerCertificate(ca: KeyedCertificate, hosts: readonly string[], validityDays = 825): Promise<KeyedCertificate> {
  const keys = await generateKeyPair();
  const issued = await signWithCa(ca, {
    publicKey: keys.publicKey,
    subject: `CN=${hosts[0] ?? 'causeway-controller'}`,
    notAfter: new Date(Date.now() + validityDays * DAY_MS),
    names: hostNames(hosts),
    usage: x509.ExtendedKeyUsage.serverAuth,
  });
  return { certificatePem: issued.certificatePem, privateKeyPem: await privateKeyPem(keys.privateKey) };
}

/** A certificate signing request for a key this process made and keeps. */
export async function createSigningRequest(keys: CryptoKeyPair, commonName: string): Promise<string> {
  const request = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${commonName}`, keys, signingAlgorithm });
  return request.toString('pem');
}

/**
 * Signs a client certificate for the key of a signing request, with the names the caller
 * decided (never the request's own): the request only proves that its sender holds the
 * key. Undefined when the request is malformed or its signature does not verify.
 */
export async function signClientCertificate(
  ca: KeyedCertificate,
  requestPem: string,
  subject: string,
  uris: readonly string[],
  lifetimeMs: number,
): Promise<IssuedCertificate | undefined> {
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(requestPem);
    if (!(await request.verify())) return undefined;
  } catch {
    return undefined;
  }
  return signWithCa(ca, {
    publicKey: request.publicKey,
    subject,
    notAfter: new Date(Date.now() + lifetimeMs),
    names: uris.map((value) => ({ type: 'url', value })),
    usage: x509.ExtendedKeyUsage.clientAuth,
  });
}

/** The URI names of a certificate (DER or PEM). */
export function certificateUris(certificate: Uint8Array | string): string[] {
  const parsed = new x509.X509Certificate(typeof certificate === 'string' ? certificate : new Uint8Array(certificate));
  const names = parsed.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
  return names.filter((n) => n.type === 'url').map((n) => n.value);
}

export function certificateExpiry(certificatePem: string): Date {
  return new x509.X509Certificate(certificatePem).notAfter;
}

/** Whether a certificate was signed by the CA's key. */
export async function signedBy(certificatePem: string, caCertificatePem: string): Promise<boolean> {
  const ca = new x509.X509Certificate(caCertificatePem);
  return new x509.X509Certificate(certificatePem).verify({ publicKey: ca.publicKey, signatureOnly: true });
}

/**
 * A serial as deny lists compare it: lower-case hexadecimal without leading zeros (OpenSSL,
 * and so Node's TLS peer certificates, drop them; the generator keeps them).
 */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}
