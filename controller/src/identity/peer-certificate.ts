import type { PeerCertificate as TlsPeerCertificate } from 'node:tls';
import { certificateUris, identityFromUris, normalizeSerial, type RuntimeIdentity } from '@causeway/shared/pki';

/** A runtime's client certificate, as the TLS handshake verified it against the CA bundle. */
export interface PeerCertificate {
  /** Undefined when the certificate verified but carries no runtime identity. */
  readonly identity: RuntimeIdentity | undefined;
  /** Normalized (see normalizeSerial): what deny lists name. */
  readonly serial: string;
  readonly notAfter: Date;
}

/** What a gRPC call says of its connection's TLS peer. */
export interface AuthContextSource {
  getAuthContext(): { readonly sslPeerCertificate?: TlsPeerCertificate };
}

/**
 * The verified client certificate of a call, or undefined when there is none: grpc-js
 * gives the peer certificate only when its chain verified against the CA bundle
 * (`socket.authorized`), so one from another CA, or an expired one, reads as none.
 */
export function peerCertificate(call: AuthContextSource): PeerCertificate | undefined {
  const peer = call.getAuthContext().sslPeerCertificate;
  if (peer === undefined || peer.raw === undefined) return undefined;
  let identity: RuntimeIdentity | undefined;
  try {
    identity = identityFromUris(certificateUris(new Uint8Array(peer.raw)));
  } catch {
    identity = undefined;
  }
  return { identity, serial: normalizeSerial(peer.serialNumber), notAfter: new Date(peer.valid_to) };
}
