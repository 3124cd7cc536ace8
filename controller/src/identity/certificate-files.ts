import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { experimental } from '@grpc/grpc-js';
import { ConfigError, type Logger } from '@causeway/shared';
import type { KeyedCertificate } from '@causeway/shared/pki';

type CertificateProvider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** The PEM files a TLS controller serves and signs with (CAUSEWAY_XDS_TLS_* and CAUSEWAY_CA_*). */
interface CertificatePaths {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caCertFile: string;
  readonly caKeyFile: string | undefined;
}

/** What the files held at their last good read. */
interface Loaded {
  readonly servingPem: Buffer;
  readonly servingKeyPem: Buffer;
  readonly servingExpiry: Date;
  /** Every CA certificate of CAUSEWAY_CA_CERT: client certificates must chain to one of them. */
  readonly trustPem: string;
  /** The CA whose key is CAUSEWAY_CA_KEY; undefined when this replica signs nothing. */
  readonly signer: KeyedCertificate | undefined;
  readonly caExpiry: Date;
}

export interface CertificateExpiry {
  readonly certificate: 'serving' | 'ca';
  readonly expiresAt: Date;
}

const variables = { certFile: 'CAUSEWAY_XDS_TLS_CERT', keyFile: 'CAUSEWAY_XDS_TLS_KEY', caCertFile: 'CAUSEWAY_CA_CERT', caKeyFile: 'CAUSEWAY_CA_KEY' } as const;
const pemCertificates = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function parseKey(pem: Buffer, variable: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new ConfigError([`${variable}: is not a PEM private key`]);
  }
}

function parseCertificates(pem: string, variable: string): X509Certificate[] {
  const blocks = pem.match(pemCertificates) ?? [];
  if (blocks.length === 0) throw new ConfigError([`${variable}: holds no PEM certificate`]);
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    throw new ConfigError([`${variable}: holds a certificate that does not parse`]);
  }
}

/** Reads and checks the files: the serving key matches its certificate, the CA key one CA certificate. */
async function load(paths: CertificatePaths): Promise<Loaded> {
  const read = async (key: keyof CertificatePaths): Promise<Buffer | undefined> => {
    const file = paths[key];
    if (file === undefined) return undefined;
    try {
      return await readFile(file);
    } catch (error) {
      throw new ConfigError([`${variables[key]}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
  };
  const [servingPem, servingKeyPem, caPem, caKeyPem] = await Promise.all([read('certFile'), read('keyFile'), read('caCertFile'), read('caKeyFile')]);
  if (servingPem === undefined || servingKeyPem === undefined || caPem === undefined) throw new ConfigError([`${variables.certFile}: missing`]);
  const [serving] = parseCertificates(servingPem.toString(), variables.certFile);
  if (serving === undefined || !serving.checkPrivateKey(parseKey(servingKeyPem, variables.keyFile))) {
    throw new ConfigError([`${variables.keyFile}: is not the key of the certificate in ${variables.certFile}`]);
  }
  const cas = parseCertificates(caPem.toString(), variables.caCertFile);
  let signer: KeyedCertificate | undefined;
  let signingCa = cas[0];
  if (caKeyPem !== undefined) {
    const key = parseKey(caKeyPem, variables.caKeyFile);
    signingCa = cas.find((ca) => ca.checkPrivateKey(key));
    if (signingCa === undefined) throw new ConfigError([`${variables.caKeyFile}: is not the key of any certificate in ${variables.caCertFile}`]);
    signer = { certificatePem: signingCa.toString(), privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString() };
  }
  return {
    servingPem,
    servingKeyPem,
    servingExpiry: new Date(serving.validTo),
    trustPem: cas.map((ca) => ca.toString()).join(''),
    signer,
    caExpiry: new Date(signingCa?.validTo ?? 0),
  };
}

export interface CertificateFilesOptions {
  readonly paths: CertificatePaths;
  readonly log: Logger;
  /** Told each certificate's expiry at every good read. */
  readonly onExpiry: (expiry: readonly CertificateExpiry[]) => void;
  /** How often the files are looked at (their size and modification time). */
  readonly pollIntervalMs?: number;
}

/**
 * The controller's certificate files, re-read when they change, so that certificates are
 * rotated without a restart: new connections get the new serving certificate and are
 * checked against the new CA bundle; existing ones keep theirs. A half-written set (a new
 * certificate with the old key) is not taken: the last good one stays until the files
 * agree. It is the grpc-js certificate provider of the config stream's listener.
 */
export class CertificateFiles implements CertificateProvider {
  private readonly options: CertificateFilesOptions;
  private current: Loaded | undefined;
  private signature = '';
  private failedSignature = '';
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(options: CertificateFilesOptions) {
    this.options = options;
  }

  /** First read: a file that is missing or wrong stops start-up, naming its variable. */
  async start(): Promise<void> {
    this.signature = await this.filesSignature();
    this.take(await load(this.options.paths), 'TLS certificates loaded');
    this.timer = setInterval(() => void this.poll(), this.options.pollIntervalMs ?? 1_000);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** The CA that signs runtime certificates; undefined without CAUSEWAY_CA_KEY. */
  get signer(): KeyedCertificate | undefined {
    return this.current?.signer;
  }

  /** Every trusted CA certificate, PEM (what a runtime is given to check controllers with). */
  get trustBundle(): string {
    return this.current?.trustPem ?? '';
  }

  get expiries(): CertificateExpiry[] {
    const c = this.current;
    return c === undefined ? [] : [{ certificate: 'serving', expiresAt: c.servingExpiry }, { certificate: 'ca', expiresAt: c.caExpiry }];
  }

  // grpc-js registers the listener's watcher only after `add…Listener` returns: an update
  // given synchronously would be lost and the listener would refuse every connection.
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    queueMicrotask(() => {
      if (this.current !== undefined && this.caListeners.has(listener)) listener({ caCertificate: Buffer.from(this.current.trustPem) });
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    queueMicrotask(() => {
      const current = this.current;
      if (current !== undefined && this.identityListeners.has(listener)) listener({ certificate: current.servingPem, privateKey: current.servingKeyPem });
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const signature = await this.filesSignature();
      if (signature === this.signature) return;
      const loaded = await load(this.options.paths);
      this.signature = signature;
      this.take(loaded, 'TLS certificates reloaded');
    } catch (error) {
      const signature = await this.filesSignature().catch(() => '');
      if (signature !== this.failedSignature) {
        this.failedSignature = signature;
        const problem = error instanceof ConfigError ? error.problems.join('; ') : String(error);
        this.options.log.warn({ problem }, 'changed TLS files are not usable yet; keeping the certificates in use');
      }
    } finally {
      this.polling = false;
    }
  }

  private take(loaded: Loaded, message: string): void {
    this.current = loaded;
    this.options.log.info(
      { servingExpiresAt: loaded.servingExpiry.toISOString(), caExpiresAt: loaded.caExpiry.toISOString(), signs: loaded.signer !== undefined },
      message,
    );
    this.options.onExpiry(this.expiries);
    for (const listener of this.identityListeners) listener({ certificate: loaded.servingPem, privateKey: loaded.servingKeyPem });
    for (const listener of this.caListeners) listener({ caCertificate: Buffer.from(loaded.trustPem) });
  }

  /** Size and modification time of every file: changes when any is rewritten or replaced. */
  private async filesSignature(): Promise<string> {
    const files = Object.values(this.options.paths).filter((f): f is string => f !== undefined);
    const stats = await Promise.all(files.map((file) => stat(file).then((s) => `${s.ino}:${s.size}:${s.mtimeMs}`, () => 'missing')));
    return stats.join('|');
  }
}
