import { ConfigError, type Logger } from '@causeway/shared';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { XdsSecurity } from '../config.ts';
import type { ClientIdentity, IdentityDeps, IdentityStatus } from './identity-types.ts';
import { watchFiles } from './file-watch.ts';
import { describeCertificate, heldCertificate, identityProblem, readPemFile, tlsCredentials, type HeldCertificate } from './held-certificate.ts';

type FileSecurity = Extract<XdsSecurity, { mode: 'files' }>;

/**
 * Certificate files of the operator's own PKI (CAUSEWAY_TLS_CERT, CAUSEWAY_TLS_KEY,
 * CAUSEWAY_CA_CERT), read again when they change: the stream moves to the new ones.
 * A change that does not make a usable pair (say the certificate written, its key not
 * yet) keeps the pair in use until one does.
 */
export class FileIdentity implements ClientIdentity {
  private readonly security: FileSecurity;
  private readonly deps: IdentityDeps;
  private readonly log: Logger;
  private held: HeldCertificate | undefined;
  private current: ChannelCredentials | undefined;
  private problem: string | undefined;
  private stopWatching: (() => void) | undefined;

  constructor(security: FileSecurity, deps: IdentityDeps) {
    this.security = security;
    this.deps = deps;
    this.log = deps.log;
  }

  /** Fails start-up with a ConfigError when the files are unreadable, do not match, or are not this node's. */
  async start(): Promise<void> {
    const loaded = await this.read();
    this.adopt(loaded.held, loaded.caPem);
    const { caCertFile, certFile, keyFile } = this.security;
    this.stopWatching = watchFiles([caCertFile, certFile, keyFile], this.deps.filePollMs, () => void this.reload());
  }

  credentials(): ChannelCredentials | undefined {
    return this.current;
  }

  labels(): Readonly<Record<string, string>> | undefined {
    return this.held?.identity?.labels;
  }

  status(): IdentityStatus {
    return { mode: 'files', certificate: this.held && describeCertificate(this.held), refusal: undefined, problem: this.problem, lastError: undefined };
  }

  certificateRejected(): void {
    const problem = 'the controllers do not accept CAUSEWAY_TLS_CERT (not signed by their CA, or expired)';
    if (this.problem !== problem) this.log.error({ file: this.security.certFile }, problem);
    this.problem = problem;
  }

  close(): void {
    this.stopWatching?.();
  }

  private async read(): Promise<{ readonly held: HeldCertificate; readonly caPem: string }> {
    const { caCertFile, certFile, keyFile } = this.security;
    const [caPem, certificatePem, keyPem] = await Promise.all([
      readPemFile(caCertFile, 'CAUSEWAY_CA_CERT'),
      readPemFile(certFile, 'CAUSEWAY_TLS_CERT'),
      readPemFile(keyFile, 'CAUSEWAY_TLS_KEY'),
    ]);
    let held: HeldCertificate;
    try {
      held = heldCertificate(certificatePem, keyPem, Date.now());
    } catch (error) {
      throw new ConfigError([`CAUSEWAY_TLS_CERT, CAUSEWAY_TLS_KEY: ${(error as Error).message}`]);
    }
    const problem = identityProblem(held, this.deps.expected, `CAUSEWAY_TLS_CERT ("${certFile}")`);
    if (problem !== undefined) throw new ConfigError([problem]);
    return { held, caPem };
  }

  private adopt(held: HeldCertificate, caPem: string): void {
    this.held = held;
    this.current = tlsCredentials(caPem, held);
    this.problem = undefined;
    this.deps.metrics.certificateExpiry.set({ certificate: 'client' }, held.notAfter.getTime() / 1000);
    this.log.info({ ...describeCertificate(held), file: this.security.certFile }, 'client certificate loaded');
  }

  private async reload(): Promise<void> {
    let loaded: { readonly held: HeldCertificate; readonly caPem: string };
    try {
      loaded = await this.read();
    } catch (error) {
      this.log.warn({ reason: (error as Error).message }, 'the changed certificate files are not usable yet; keeping the ones in use');
      return;
    }
    this.adopt(loaded.held, loaded.caPem);
    this.deps.onChange();
  }
}
