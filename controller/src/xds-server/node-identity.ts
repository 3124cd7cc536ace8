import { CausewayError, PROTOCOL_VERSION } from '@causeway/shared';
import type { Node } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import type { PeerCertificate } from '../identity/peer-certificate.ts';
import { claimMismatch } from './identity-claims.ts';
import { checkNode } from './request-limits.ts';
import type { RuntimeIdentity } from './stream-callbacks.ts';

/**
 * Who the runtime of a stream's first request is. Over mTLS, the certificate's identity
 * (a request claiming another is refused); without TLS, the request's.
 */
export function nodeIdentity(node: Node | undefined, certified: PeerCertificate | undefined): RuntimeIdentity {
  checkNode(node);
  if (node.protocolVersion !== PROTOCOL_VERSION) {
    throw new CausewayError(
      'incompatible_version',
      `runtime ${node.id} (version ${node.version || 'unknown'}) speaks protocol ${node.protocolVersion}; this controller speaks protocol ${PROTOCOL_VERSION}: upgrade the runtime or the controller so they match`,
    );
  }
  if (certified === undefined) return { nodeId: node.id, zone: node.zone || 'default', labels: { ...node.labels }, version: node.version, org: null, certificate: undefined };
  if (certified.identity === undefined) throw new CausewayError('permission_denied', 'the client certificate carries no runtime identity (spiffe://causeway/… URI)');
  const mismatch = claimMismatch(node, certified.identity);
  if (mismatch !== undefined) throw new CausewayError('permission_denied', mismatch);
  const { nodeId, zone, labels, org } = certified.identity;
  return { nodeId, zone, labels, version: node.version, org, certificate: { serial: certified.serial, notAfter: certified.notAfter } };
}
