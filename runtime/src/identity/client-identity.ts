import { credentials } from '@grpc/grpc-js';
import type { XdsSecurity } from '../config.ts';
import type { ClientIdentity, IdentityDeps } from './identity-types.ts';

export type { ClientIdentity, IdentityDeps, IdentityStatus } from './identity-types.ts';

const plaintext: ClientIdentity = {
  credentials: () => credentials.createInsecure(),
  labels: () => undefined,
  certificateRejected: () => undefined,
  status: () => ({ mode: 'insecure', certificate: undefined, refusal: undefined, problem: undefined, lastError: undefined }),
  start: () => Promise.resolve(),
  close: () => undefined,
};

/** The identity for the configured mode; the TLS ones (and the X.509 code) are loaded only when used. */
export async function createClientIdentity(security: XdsSecurity, deps: IdentityDeps): Promise<ClientIdentity> {
  switch (security.mode) {
    case 'insecure':
      return plaintext;
    case 'token': {
      const { JoinedIdentity } = await import('./joined-identity.ts');
      return new JoinedIdentity(security, deps);
    }
    case 'files': {
      const { FileIdentity } = await import('./file-identity.ts');
      return new FileIdentity(security, deps);
    }
  }
}
