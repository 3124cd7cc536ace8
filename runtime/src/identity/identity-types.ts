import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from '@causeway/shared';
import type { XdsSecurity } from '../config.ts';
import type { RuntimeMetrics } from '../metrics.ts';
import type { ExpectedIdentity } from './held-certificate.ts';

/** What /readyz and the logs say about how this runtime authenticates to the controllers. */
export interface IdentityStatus {
  readonly mode: XdsSecurity['mode'];
  /** The client certificate in use: expiry and SPIFFE ID; undefined in plaintext or before one is held. */
  readonly certificate: { readonly expiresAt: string; readonly spiffeId?: string } | undefined;
  /** The controllers' answer when they refused to issue or renew a certificate (PERMISSION_DENIED, …). */
  readonly refusal: string | undefined;
  /** Why no certificate can be used: an unreadable file, one made for another node or zone. */
  readonly problem: string | undefined;
  /** Why the last attempt to get a certificate failed (a controller not reached, a TLS handshake refused). */
  readonly lastError: string | undefined;
}

/**
 * The runtime's credentials towards the controllers. The config stream asks for them at
 * each connect; `onChange` (given at creation) says new ones are ready, e.g. after a
 * renewal, and the stream moves to them.
 */
export interface ClientIdentity {
  /** undefined while there is none to use yet (before joining, or after a problem). */
  credentials(): ChannelCredentials | undefined;
  /** The labels of the certificate: the controller takes them from it, so the stream claims the same. */
  labels(): Readonly<Record<string, string>> | undefined;
  /** The controller did not accept the certificate (UNAUTHENTICATED): get another one if possible. */
  certificateRejected(): void;
  status(): IdentityStatus;
  start(): Promise<void>;
  close(): void;
}

export interface IdentityDeps {
  readonly expected: ExpectedIdentity;
  readonly cacheDir: string | undefined;
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  /** Controllers to ask for a certificate, the one streaming config first. */
  controllers(): readonly string[];
  onChange(): void;
  /** How long to wait after a controller refused a certificate. */
  readonly refusedRetryMs: number;
  /** How often certificate and CA files are checked for changes. */
  readonly filePollMs: number;
}
