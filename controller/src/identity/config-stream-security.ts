import type { experimental } from '@grpc/grpc-js';
import type { Logger } from '@causeway/shared';
import type { ControllerConfig } from '../config.ts';
import type { ControllerMetrics } from '../metrics.ts';
import type { Sql } from '../store/database.ts';
import type { ExtraService } from '../xds-server/xds-server.ts';
import { CertificateFiles, type CertificateExpiry } from './certificate-files.ts';
import { CertificateIssuer } from './certificate-issuer.ts';
import { identityService } from './identity-service.ts';

const DAY_MS = 86_400_000;
/** /readyz warns this long before a certificate expires. */
const EXPIRY_WARNING_MS = 7 * DAY_MS;

const describe = { serving: 'the serving certificate of the config stream (CAUSEWAY_XDS_TLS_CERT)', ca: 'the CA certificate that signs runtime certificates (CAUSEWAY_CA_CERT)' } as const;

/** Warnings of /readyz for certificates that expire within EXPIRY_WARNING_MS (the controller stays ready). */
export function expiryWarnings(expiries: readonly CertificateExpiry[], now = Date.now()): string[] {
  return expiries.flatMap(({ certificate, expiresAt }) => {
    const left = expiresAt.getTime() - now;
    if (left > EXPIRY_WARNING_MS) return [];
    if (left <= 0) return [`${describe[certificate]} expired at ${expiresAt.toISOString()}`];
    return [`${describe[certificate]} expires at ${expiresAt.toISOString()}, in ${Math.ceil(left / DAY_MS)} day(s): replace it`];
  });
}

export interface ConfigStreamSecurityOptions {
  readonly config: Pick<ControllerConfig, 'xdsSecurity' | 'runtimeCertLifetimeMs' | 'controllerId'>;
  readonly sql: Sql;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
}

/**
 * How the config stream is secured: the certificate files (watched), the issuer of runtime
 * certificates and its gRPC service, and what /readyz says of them. Without TLS
 * (CAUSEWAY_XDS_INSECURE=true) there are no files and the issuer refuses every request.
 */
export class ConfigStreamSecurity {
  readonly service: ExtraService;
  private readonly files: CertificateFiles | undefined;
  private readonly log: Logger;

  constructor(options: ConfigStreamSecurityOptions) {
    const { config, sql, log, metrics } = options;
    const security = config.xdsSecurity;
    this.log = log;
    this.files =
      security.mode === 'tls'
        ? new CertificateFiles({
            paths: security,
            log,
            onExpiry: (expiries) => {
              for (const e of expiries) metrics.certificateExpiry.set({ certificate: e.certificate }, Math.floor(e.expiresAt.getTime() / 1000));
            },
          })
        : undefined;
    const issuer = new CertificateIssuer({ sql, controllerId: config.controllerId, log, metrics, authority: this.files, lifetimeMs: config.runtimeCertLifetimeMs });
    this.service = identityService(issuer);
  }

  /** The listener's certificate provider; undefined without TLS. */
  get tls(): experimental.CertificateProvider | undefined {
    return this.files;
  }

  /** Reads the files (a bad one stops start-up, naming its variable) and watches them. */
  async start(): Promise<void> {
    if (this.files === undefined) {
      this.log.warn('the config stream is served WITHOUT TLS (CAUSEWAY_XDS_INSECURE=true): runtimes are not authenticated and anyone who reaches it receives every org\'s config');
      return;
    }
    await this.files.start();
  }

  close(): void {
    this.files?.close();
  }

  /** What /readyz says of the config stream's security: insecure mode, certificates about to expire. */
  readiness(): { readonly tls: boolean; readonly warnings: string[] } {
    if (this.files === undefined) return { tls: false, warnings: ['the config stream is served without TLS (CAUSEWAY_XDS_INSECURE=true)'] };
    return { tls: true, warnings: expiryWarnings(this.files.expiries) };
  }
}
