import { CausewayError, nodeIdPattern, nodeIdRule, type Logger } from '@causeway/shared';
import { identityUris, normalizeSerial, signClientCertificate, spiffeId, type KeyedCertificate, type RuntimeIdentity } from '@causeway/shared/pki';
import { claimedId, joinTokens, matches } from '../access/token-secrets.ts';
import type { ControllerMetrics } from '../metrics.ts';
import type { Sql } from '../store/database.ts';
import type { AuditContext } from '../store/mutate.ts';
import { isNodeRevoked, issuedCertificate, recordIssuedCertificate } from '../store/runtime-certificates.ts';
import { findRuntimeToken } from '../store/runtime-tokens.ts';
import type { PeerCertificate } from './peer-certificate.ts';

/** What a runtime asks for (IssueCertificateRequest). */
export interface CertificateRequest {
  readonly joinToken: string;
  readonly csrPem: string;
  readonly nodeId: string;
}

export interface IssuedRuntimeCertificate {
  readonly certificatePem: string;
  readonly caPem: string;
  readonly notAfter: Date;
  readonly spiffeId: string;
}

/** Where the issuer finds its CA: undefined while the controller serves without TLS. */
interface SigningAuthority {
  readonly signer: KeyedCertificate | undefined;
  readonly trustBundle: string;
}

export interface CertificateIssuerOptions {
  readonly sql: Sql;
  readonly controllerId: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly authority: SigningAuthority | undefined;
  readonly lifetimeMs: number;
}

const MAX_CSR_LENGTH = 16_384;
const MAX_TOKEN_LENGTH = 256;

/** Who asks, and on what grounds: a join token, or the certificate being renewed. */
interface Grounds {
  readonly identity: RuntimeIdentity;
  readonly tokenId: string | null;
  readonly renewedFrom: string | null;
}

/**
 * Signs runtime client certificates: for a join token (identity from the token, node id
 * from the request) or to renew a certificate presented over mTLS (identity kept from it).
 * What the request says of org, zone or labels never counts. A revoked node id gets none.
 */
export class CertificateIssuer {
  private readonly options: CertificateIssuerOptions;

  constructor(options: CertificateIssuerOptions) {
    this.options = options;
  }

  async issue(request: CertificateRequest, peer: PeerCertificate | undefined, source: string): Promise<IssuedRuntimeCertificate> {
    const { authority, sql, metrics, log } = this.options;
    try {
      if (authority === undefined) throw new CausewayError('precondition_failed', 'this controller serves the config stream without TLS (CAUSEWAY_XDS_INSECURE=true) and issues no certificates');
      const signer = authority.signer;
      if (signer === undefined) throw new CausewayError('precondition_failed', 'this controller has no CA key (CAUSEWAY_CA_KEY) and issues no certificates; use certificate files (CAUSEWAY_TLS_CERT, CAUSEWAY_TLS_KEY)');
      if (request.csrPem.length > MAX_CSR_LENGTH) throw new CausewayError('invalid_argument', `csr_pem: longer than ${MAX_CSR_LENGTH} characters`);
      const grounds = request.joinToken === '' ? await this.renewal(request, peer) : await this.join(request);
      const { nodeId } = grounds.identity;
      if (await isNodeRevoked(sql, nodeId)) {
        throw new CausewayError('permission_denied', `runtime "${nodeId}" was revoked; it gets no certificate until an administrator readmits it (DELETE /v1/runtimes/${nodeId}/revocation)`);
      }
      const issued = await signClientCertificate(signer, request.csrPem, `CN=${nodeId}`, identityUris(grounds.identity), this.options.lifetimeMs);
      if (issued === undefined) throw new CausewayError('invalid_argument', 'csr_pem: is not a PEM certificate signing request whose signature verifies');
      const serial = normalizeSerial(issued.serial);
      const { org, zone, labels } = grounds.identity;
      await recordIssuedCertificate(sql, this.auditContext(grounds, source), { serial, nodeId, org, zone, labels, tokenId: grounds.tokenId, renewedFrom: grounds.renewedFrom, notAfter: issued.notAfter });
      metrics.runtimeCertificates.inc({ result: grounds.renewedFrom === null ? 'join' : 'renew' });
      log.info({ node: nodeId, org, zone, serial, notAfter: issued.notAfter.toISOString(), renewal: grounds.renewedFrom !== null }, 'runtime certificate issued');
      return { certificatePem: issued.certificatePem, caPem: authority.trustBundle, notAfter: issued.notAfter, spiffeId: spiffeId(grounds.identity) };
    } catch (error) {
      const refusal = CausewayError.from(error);
      metrics.runtimeCertificates.inc({ result: 'refused' });
      log.warn({ node: request.nodeId.slice(0, 128), source, code: refusal.code, reason: refusal.message }, 'runtime certificate refused');
      throw refusal;
    }
  }

  private async join(request: CertificateRequest): Promise<Grounds> {
    const secret = request.joinToken;
    const id = secret.length > MAX_TOKEN_LENGTH ? undefined : claimedId(secret, joinTokens);
    const token = id === undefined ? undefined : await findRuntimeToken(this.options.sql, id);
    if (token === undefined || !matches(secret, token.digest)) throw new CausewayError('unauthenticated', 'join_token: is not a valid join token (POST /v1/runtime-tokens makes one)');
    if (token.revokedAt !== null) throw new CausewayError('unauthenticated', `join token ${token.id} was deleted`);
    if (token.expiresAt.getTime() <= Date.now()) throw new CausewayError('unauthenticated', `join token ${token.id} expired at ${token.expiresAt.toISOString()}`);
    if (!nodeIdPattern.test(request.nodeId)) throw new CausewayError('invalid_argument', `node_id: ${JSON.stringify(request.nodeId.slice(0, 64))} is not a node id (${nodeIdRule})`);
    return { identity: { org: token.org, zone: token.zone, labels: token.labels, nodeId: request.nodeId }, tokenId: token.id, renewedFrom: null };
  }

  private async renewal(request: CertificateRequest, peer: PeerCertificate | undefined): Promise<Grounds> {
    if (peer === undefined) {
      throw new CausewayError('unauthenticated', 'join_token: is empty, so this is a renewal, which needs the current client certificate (signed by this deployment\'s CA, not expired)');
    }
    if (peer.identity === undefined) throw new CausewayError('permission_denied', 'the client certificate carries no runtime identity (spiffe://causeway/… URI)');
    if (request.nodeId !== '' && request.nodeId !== peer.identity.nodeId) {
      throw new CausewayError('permission_denied', `node_id: "${request.nodeId.slice(0, 128)}" differs from the certificate's node id "${peer.identity.nodeId}"`);
    }
    // The new certificate descends from the same join token as the one it renews.
    const tokenId = (await issuedCertificate(this.options.sql, peer.serial))?.tokenId ?? null;
    return { identity: peer.identity, tokenId, renewedFrom: peer.serial };
  }

  /** The runtime acts: as its join token when joining, as itself when renewing. */
  private auditContext(grounds: Grounds, source: string): AuditContext {
    const id = grounds.renewedFrom ?? grounds.tokenId ?? '';
    return { actor: { kind: 'runtime', id, name: grounds.identity.nodeId }, requestId: '', source, controllerId: this.options.controllerId };
  }
}
