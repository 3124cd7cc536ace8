import { status as GrpcStatus, type ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from '@causeway/shared';
import { createSigningRequest, generateKeyPair, privateKeyPem } from '@causeway/shared/pki';
import type { XdsSecurity } from '../config.ts';
import { Backoff } from '../xds-client/backoff.ts';
import { issueCertificate, isRefusal } from './certificate-issuer.ts';
import type { ClientIdentity, IdentityDeps, IdentityStatus } from './identity-types.ts';
import { watchFiles } from './file-watch.ts';
import {
  describeCertificate,
  heldCertificate,
  identityProblem,
  readPemFile,
  renewalDue,
  tlsCredentials,
  type HeldCertificate,
} from './held-certificate.ts';
import { IdentityCache } from './identity-cache.ts';

type TokenSecurity = Extract<XdsSecurity, { mode: 'token' }>;

const issueTimeoutMs = 10_000;
/** Timers are re-armed at most a day ahead (setTimeout's limit is under 25 days). */
const maxTimerMs = 86_400_000;

/**
 * A runtime that joins with a token: it makes its own key, sends a signing request with
 * the token, streams with the certificate it gets, and renews it over mTLS (empty
 * token) at two thirds of its lifetime, with a new key each time. When the certificate
 * expired or a controller no longer accepts it, it joins with the token again.
 */
export class JoinedIdentity implements ClientIdentity {
  private readonly security: TokenSecurity;
  private readonly deps: IdentityDeps;
  private readonly log: Logger;
  private readonly cache: IdentityCache | undefined;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  private caPem = '';
  private held: HeldCertificate | undefined;
  private current: ChannelCredentials | undefined;
  private refusal: string | undefined;
  private problem: string | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Failed attempts since the last certificate: which controller is asked next. */
  private attempts = 0;
  private closed = false;
  private obtaining = false;
  private stopWatching: (() => void) | undefined;

  constructor(security: TokenSecurity, deps: IdentityDeps) {
    this.security = security;
    this.deps = deps;
    this.log = deps.log;
    this.cache = deps.cacheDir === undefined ? undefined : new IdentityCache(deps.cacheDir, deps.log);
  }

  async start(): Promise<void> {
    this.caPem = await readPemFile(this.security.caCertFile, 'CAUSEWAY_CA_CERT');
    this.stopWatching = watchFiles([this.security.caCertFile], this.deps.filePollMs, () => void this.reloadCa());
    const cached = await this.cache?.load(this.deps.expected, Date.now());
    if (cached === undefined) this.schedule(0);
    else this.adopt(cached, false);
  }

  credentials(): ChannelCredentials | undefined {
    return this.current;
  }

  labels(): Readonly<Record<string, string>> | undefined {
    return this.held?.identity?.labels;
  }

  status(): IdentityStatus {
    return {
      mode: 'token',
      certificate: this.held && describeCertificate(this.held),
      refusal: this.refusal,
      problem: this.problem,
      lastError: this.lastError,
    };
  }

  certificateRejected(): void {
    if (this.held === undefined || this.closed) return;
    this.log.warn(describeCertificate(this.held), 'the controller did not accept the certificate; joining again with the token');
    this.drop();
    this.schedule(0);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.stopWatching?.();
  }

  private drop(): void {
    this.held = undefined;
    this.current = undefined;
    this.deps.metrics.certificateExpiry.remove('client');
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => {
      if (this.obtaining) return; // the attempt under way schedules the next step
      this.obtaining = true;
      this.obtain()
        .catch((error: unknown) => {
          this.log.error({ err: error }, 'cannot make a signing request; trying again');
          this.schedule(this.backoff.next());
        })
        .finally(() => {
          this.obtaining = false;
        });
    }, Math.max(0, Math.min(delayMs, maxTimerMs)));
    this.timer.unref();
  }

  /** Renews over mTLS while the certificate is valid, else joins with the token. */
  private async obtain(): Promise<void> {
    const held = this.held;
    const now = Date.now();
    if (held !== undefined && now < renewalDue(held)) {
      this.schedule(renewalDue(held) - now); // a timer re-armed after a day
      return;
    }
    const renewing = held !== undefined && held.notAfter.getTime() > now;
    const controllers = this.deps.controllers();
    const controller = controllers[this.attempts % Math.max(1, controllers.length)];
    if (controller === undefined) return;
    const { nodeId } = this.deps.expected;
    const keys = await generateKeyPair();
    const [csrPem, keyPem] = await Promise.all([createSigningRequest(keys, nodeId), privateKeyPem(keys.privateKey)]);
    const request = { joinToken: renewing ? '' : this.security.joinToken, csrPem, nodeId };
    const outcome = await issueCertificate(controller, tlsCredentials(this.caPem, renewing ? held : undefined), request, issueTimeoutMs);
    if (this.closed) return;
    let issued: HeldCertificate | undefined;
    let failure = outcome.ok ? undefined : `${GrpcStatus[outcome.code]}: ${outcome.details}`;
    if (outcome.ok) {
      try {
        issued = heldCertificate(outcome.response.certificatePem, keyPem, Date.now());
      } catch (error) {
        failure = `the issued certificate is unusable: ${(error as Error).message}`;
      }
    }
    if (issued !== undefined) {
      this.adopt(issued, true);
      return;
    }
    this.attempts++;
    this.lastError = failure;
    const fields = { controller, renewing, reason: failure };
    if (!outcome.ok && isRefusal(outcome.code)) {
      if (this.refusal !== failure) this.log.error(fields, 'the controller refused a certificate');
      this.refusal = failure;
      // A controller that no longer accepts the certificate itself may still take the token.
      if (renewing && outcome.code === GrpcStatus.UNAUTHENTICATED) this.drop();
      this.schedule(this.deps.refusedRetryMs);
      return;
    }
    this.log.warn(fields, renewing ? 'cannot renew the certificate; trying again' : 'cannot join; trying again');
    this.schedule(this.backoff.next());
  }

  private adopt(held: HeldCertificate, issued: boolean): void {
    const problem = identityProblem(held, this.deps.expected, 'the certificate issued for CAUSEWAY_RUNTIME_TOKEN');
    if (problem !== undefined) {
      if (this.problem !== problem) this.log.error({ problem }, 'cannot use the certificate');
      this.problem = problem;
      this.drop();
      this.schedule(this.deps.refusedRetryMs);
      return;
    }
    this.held = held;
    this.current = tlsCredentials(this.caPem, held);
    this.problem = this.refusal = this.lastError = undefined;
    this.attempts = 0;
    this.backoff.reset();
    this.deps.metrics.certificateExpiry.set({ certificate: 'client' }, held.notAfter.getTime() / 1000);
    const renewAt = new Date(renewalDue(held)).toISOString();
    this.log.info({ ...describeCertificate(held), renewAt }, issued ? 'certificate issued' : 'using the cached certificate');
    if (issued) void this.cache?.save(held);
    this.schedule(renewalDue(held) - Date.now());
    this.deps.onChange();
  }

  private async reloadCa(): Promise<void> {
    try {
      this.caPem = await readPemFile(this.security.caCertFile, 'CAUSEWAY_CA_CERT');
    } catch (error) {
      this.log.warn({ err: error }, 'cannot read the changed CA certificate; keeping the one in use');
      return;
    }
    this.log.info({ file: this.security.caCertFile }, 'CA certificate reloaded');
    if (this.held === undefined) return;
    this.current = tlsCredentials(this.caPem, this.held);
    this.deps.onChange();
  }
}
