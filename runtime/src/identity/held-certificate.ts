import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { ConfigError } from '@causeway/shared';
import { certificateUris, identityFromUris, spiffeId, type RuntimeIdentity } from '@causeway/shared/pki';

/** A client certificate with its key, as this runtime holds it. */
export interface HeldCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly notAfter: Date;
  /** When this runtime got it: it renews at two thirds of the time from then to `notAfter`. */
  readonly receivedAt: number;
  /** The runtime identity its URI names carry, if they carry one. */
  readonly identity: RuntimeIdentity | undefined;
}

/** Who this runtime says it is (CAUSEWAY_NODE_ID, CAUSEWAY_ZONE). */
export interface ExpectedIdentity {
  readonly nodeId: string;
  readonly zone: string;
}

/** Reads a PEM file named by a variable; the error names the variable and the file. */
export async function readPemFile(file: string, variable: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${variable}: cannot read "${file}": ${(error as Error).message}`]);
  }
}

/**
 * Parses a certificate and its key, and checks that the key is the certificate's: a
 * pair that does not match is refused here rather than in every TLS handshake.
 */
export function heldCertificate(certificatePem: string, privateKeyPem: string, receivedAt: number): HeldCertificate {
  const certificate = new X509Certificate(certificatePem);
  if (!certificate.checkPrivateKey(createPrivateKey(privateKeyPem))) throw new Error('the private key is not the key of the certificate');
  return {
    certificatePem,
    privateKeyPem,
    notAfter: new Date(certificate.validTo),
    receivedAt,
    identity: identityFromUris(certificateUris(certificatePem)),
  };
}

/** Why the certificate cannot be this runtime's, or undefined when it can. */
export function identityProblem(held: HeldCertificate, expected: ExpectedIdentity, source: string): string | undefined {
  const { identity } = held;
  if (identity === undefined) return `${source} carries no runtime identity (a spiffe://causeway/… URI name)`;
  if (identity.nodeId !== expected.nodeId) return `${source} is for node "${identity.nodeId}", not CAUSEWAY_NODE_ID "${expected.nodeId}"`;
  if (identity.zone !== expected.zone) return `${source} is for zone "${identity.zone}", not CAUSEWAY_ZONE "${expected.zone}"`;
  return undefined;
}

/** When renewal is due: two thirds of the way from receipt to expiry. */
export function renewalDue(held: HeldCertificate): number {
  return held.receivedAt + ((held.notAfter.getTime() - held.receivedAt) * 2) / 3;
}

export function describeCertificate(held: HeldCertificate): { readonly expiresAt: string; readonly spiffeId?: string } {
  const { identity } = held;
  return { expiresAt: held.notAfter.toISOString(), ...(identity && { spiffeId: spiffeId(identity) }) };
}

/** TLS towards the controllers, verified against the CA, presenting the certificate if one is given. */
export function tlsCredentials(caPem: string, held: HeldCertificate | undefined): ChannelCredentials {
  if (held === undefined) return credentials.createSsl(Buffer.from(caPem));
  return credentials.createSsl(Buffer.from(caPem), Buffer.from(held.privateKeyPem), Buffer.from(held.certificatePem));
}
