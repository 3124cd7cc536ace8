import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import {
  createCertificateAuthority,
  createSigningRequest,
  generateKeyPair,
  identityUris,
  issueServerCertificate,
  privateKeyPem,
  signClientCertificate,
  type KeyedCertificate,
  type RuntimeIdentity,
} from '@causeway/shared/pki';

/** A client certificate and its key, PEM. */
export interface ClientPair {
  readonly cert: string;
  readonly key: string;
}

/**
 * A CA and a controller serving certificate in a temporary folder, as `causeway certs init`
 * writes them, with the environment that starts TLS controllers and runtimes on them.
 */
export class TestPki {
  readonly dir: string;
  readonly ca: KeyedCertificate;
  readonly files: { readonly caCert: string; readonly caKey: string; readonly controllerCert: string; readonly controllerKey: string };

  private constructor(dir: string, ca: KeyedCertificate) {
    this.dir = dir;
    this.ca = ca;
    this.files = { caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), controllerCert: join(dir, 'controller.crt'), controllerKey: join(dir, 'controller.key') };
  }

  static async create(): Promise<TestPki> {
    const dir = await mkdtemp(join(tmpdir(), 'causeway-pki-'));
    const pki = new TestPki(dir, await createCertificateAuthority('Causeway test CA'));
    await writeFile(pki.files.caCert, pki.ca.certificatePem);
    await writeFile(pki.files.caKey, pki.ca.privateKeyPem, { mode: 0o600 });
    await pki.issueServing();
    return pki;
  }

  /** Writes a new serving certificate for the controllers (as an operator rotating it does); returns it. */
  async issueServing(): Promise<KeyedCertificate> {
    const serving = await issueServerCertificate(this.ca, ['localhost', '127.0.0.1']);
    // The key first: a controller never pairs the new certificate with the old key for long.
    await writeFile(this.files.controllerKey, serving.privateKeyPem, { mode: 0o600 });
    await writeFile(this.files.controllerCert, serving.certificatePem);
    return serving;
  }

  /** A TLS controller that signs runtime certificates (lifetime in ms, if given). */
  controllerEnv(lifetimeMs?: number): Record<string, string> {
    return {
      CAUSEWAY_XDS_INSECURE: 'false',
      CAUSEWAY_XDS_TLS_CERT: this.files.controllerCert,
      CAUSEWAY_XDS_TLS_KEY: this.files.controllerKey,
      CAUSEWAY_CA_CERT: this.files.caCert,
      CAUSEWAY_CA_KEY: this.files.caKey,
      ...(lifetimeMs === undefined ? {} : { CAUSEWAY_RUNTIME_CERT_LIFETIME_MS: String(lifetimeMs) }),
    };
  }

  /** A runtime that joins with a join token. */
  runtimeEnv(joinToken: string): Record<string, string> {
    return { CAUSEWAY_CA_CERT: this.files.caCert, CAUSEWAY_RUNTIME_TOKEN: joinToken };
  }

  /** A client certificate for `identity`, signed by this CA (or `signer`), valid for `lifetimeMs` (negative: already expired). */
  async clientCertificate(identity: RuntimeIdentity, options: { signer?: KeyedCertificate; lifetimeMs?: number } = {}): Promise<ClientPair> {
    const keys = await generateKeyPair();
    const csr = await createSigningRequest(keys, identity.nodeId);
    const issued = await signClientCertificate(options.signer ?? this.ca, csr, `CN=${identity.nodeId}`, identityUris(identity), options.lifetimeMs ?? 3_600_000);
    if (issued === undefined) throw new Error('the signing request did not verify');
    return { cert: issued.certificatePem, key: await privateKeyPem(keys.privateKey) };
  }

  /** gRPC credentials that trust this CA and present `client`, if given. */
  credentials(client?: ClientPair): ChannelCredentials {
    const ca = Buffer.from(this.ca.certificatePem);
    return client === undefined ? credentials.createSsl(ca) : credentials.createSsl(ca, Buffer.from(client.key), Buffer.from(client.cert));
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
