import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, labelKeyPattern, labelRule, labelValuePattern, MAX_NODE_LABELS, nodeIdPattern, nodeIdRule, slugPattern, slugRule } from '@causeway/shared';
import type { RuntimeIdentity } from '@causeway/shared/pki';
import type { Output } from './output.ts';

/** The files `causeway certs init` writes, by the variable that names each. */
interface CertificateFilePaths {
  readonly caCert: string;
  readonly caKey: string;
  readonly controllerCert: string;
  readonly controllerKey: string;
}

const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '::1'];

function certificatePaths(dir: string): CertificateFilePaths {
  return { caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), controllerCert: join(dir, 'controller.crt'), controllerKey: join(dir, 'controller.key') };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * A CA and a controller serving certificate for `hosts` (DNS names or IP addresses) in
 * `dir`; keys readable by their owner only. An existing CA is reused (its key signs the
 * new serving certificate), so runtimes that trust it keep working.
 */
export async function writeCertificates(dir: string, hosts: readonly string[]): Promise<{ paths: CertificateFilePaths; created: string[] }> {
  // Loaded only here: the X.509 library is not needed by any other command.
  const pki = await import('@causeway/shared/pki');
  const paths = certificatePaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  let ca;
  if (await exists(paths.caKey)) {
    ca = { certificatePem: await readFile(paths.caCert, 'utf8'), privateKeyPem: await readFile(paths.caKey, 'utf8') };
  } else {
    ca = await pki.createCertificateAuthority('Causeway CA');
    await writeFile(paths.caCert, ca.certificatePem, { mode: 0o644 });
    await writeFile(paths.caKey, ca.privateKeyPem, { mode: 0o600 });
    created.push(paths.caCert, paths.caKey);
  }
  const serving = await pki.issueServerCertificate(ca, hosts.length === 0 ? DEFAULT_HOSTS : hosts);
  // The key first: a controller watching the files never pairs the new certificate with the old key for long.
  await writeFile(paths.controllerKey, serving.privateKeyPem, { mode: 0o600 });
  await writeFile(paths.controllerCert, serving.certificatePem, { mode: 0o644 });
  created.push(paths.controllerCert, paths.controllerKey);
  return { paths, created };
}

/** What `causeway certs runtime` certifies: the identity a join token would give. */
interface RuntimeCertificateRequest {
  readonly node: string | undefined;
  readonly zone: string | undefined;
  readonly org: string | undefined;
  readonly labels: readonly string[] | undefined;
  readonly days: string | undefined;
}

function runtimeIdentity(request: RuntimeCertificateRequest): { identity: RuntimeIdentity; lifetimeMs: number } {
  const problems: string[] = [];
  const { node = '', zone = '', org } = request;
  if (!nodeIdPattern.test(node)) problems.push(`--node: ${JSON.stringify(node)} is not a node id (${nodeIdRule})`);
  if (!slugPattern.test(zone)) problems.push(`--zone: ${JSON.stringify(zone)} is not a zone name (${slugRule})`);
  if (org !== undefined && !slugPattern.test(org)) problems.push(`--org: ${JSON.stringify(org)} is not an org name (${slugRule})`);
  const labels: Record<string, string> = {};
  for (const label of request.labels ?? []) {
    const [key = '', value = ''] = label.split(/=(.*)/s);
    if (!label.includes('=') || !labelKeyPattern.test(key) || !labelValuePattern.test(value)) problems.push(`--label: "${label}" is not key=value (${labelRule})`);
    else labels[key] = value;
  }
  if (Object.keys(labels).length > MAX_NODE_LABELS) problems.push(`--label: more than ${MAX_NODE_LABELS} labels`);
  const days = Number(request.days ?? '365');
  if (!Number.isInteger(days) || days < 1 || days > 3650) problems.push(`--days: ${JSON.stringify(request.days)} is not a whole number of days from 1 to 3650`);
  if (problems.length > 0) throw new ConfigError(problems);
  return { identity: { org: org ?? null, zone, nodeId: node, labels }, lifetimeMs: days * 86_400_000 };
}

/**
 * A runtime client certificate signed with the CA in `dir` (`runtime-NODE.crt`, key
 * `runtime-NODE.key`, 0600), for deployments that hand runtimes certificate files
 * (CAUSEWAY_TLS_CERT, CAUSEWAY_TLS_KEY) rather than join tokens. Nothing records it in
 * the database: revoking the node id still ends its access.
 */
async function writeRuntimeCertificate(dir: string, request: RuntimeCertificateRequest): Promise<{ cert: string; key: string }> {
  const { identity, lifetimeMs } = runtimeIdentity(request);
  const pki = await import('@causeway/shared/pki');
  const paths = certificatePaths(dir);
  if (!(await exists(paths.caKey))) throw new ConfigError([`certs runtime: ${paths.caKey} does not exist (run causeway certs init --dir ${dir} first)`]);
  const ca = { certificatePem: await readFile(paths.caCert, 'utf8'), privateKeyPem: await readFile(paths.caKey, 'utf8') };
  const keys = await pki.generateKeyPair();
  const csr = await pki.createSigningRequest(keys, identity.nodeId);
  const issued = await pki.signClientCertificate(ca, csr, `CN=${identity.nodeId}`, pki.identityUris(identity), lifetimeMs);
  if (issued === undefined) throw new Error('the signing request made here did not verify');
  const files = { cert: join(dir, `runtime-${identity.nodeId}.crt`), key: join(dir, `runtime-${identity.nodeId}.key`) };
  await writeFile(files.key, await pki.privateKeyPem(keys.privateKey), { mode: 0o600 });
  await writeFile(files.cert, issued.certificatePem, { mode: 0o644 });
  return files;
}

export interface CertsFlags extends RuntimeCertificateRequest {
  readonly dir: string | undefined;
  readonly hosts: readonly string[] | undefined;
}

const certsUsage = 'usage: causeway certs init --dir DIR [--host NAME ...] | causeway certs runtime --dir DIR --node NODE --zone ZONE [--org ORG] [--label KEY=VALUE ...] [--days 365]';

/** `causeway certs init --dir DIR [--host NAME ...]` and `causeway certs runtime --dir DIR --node NODE --zone ZONE ...`. */
export async function certs(args: readonly string[], flags: CertsFlags, io: Output): Promise<number> {
  const { dir, hosts } = flags;
  if ((args[0] !== 'init' && args[0] !== 'runtime') || args.length > 1) throw new ConfigError([certsUsage]);
  if (dir === undefined) throw new ConfigError([`certs ${args[0]}: --dir DIR is required`]);
  if (args[0] === 'runtime') {
    const files = await writeRuntimeCertificate(dir, flags);
    io.out(`wrote ${files.cert}\nwrote ${files.key}\n\nStart the runtime with CAUSEWAY_CA_CERT=${certificatePaths(dir).caCert} CAUSEWAY_TLS_CERT=${files.cert} CAUSEWAY_TLS_KEY=${files.key}`);
    return 0;
  }
  if (await exists(certificatePaths(dir).caKey)) io.err(`${dir} already holds a CA (ca.crt, ca.key): it signs the new controller certificate`);
  const { paths, created } = await writeCertificates(dir, hosts ?? []);
  for (const file of created) io.out(`wrote ${file}`);
  io.out(
    [
      '',
      'Start controllers with:',
      `  CAUSEWAY_XDS_TLS_CERT=${paths.controllerCert} CAUSEWAY_XDS_TLS_KEY=${paths.controllerKey}`,
      `  CAUSEWAY_CA_CERT=${paths.caCert} CAUSEWAY_CA_KEY=${paths.caKey}`,
      'and runtimes with CAUSEWAY_CA_CERT and a join token (POST /v1/runtime-tokens) in CAUSEWAY_RUNTIME_TOKEN.',
      `Keep ${paths.caKey} secret: whoever holds it can make runtime and controller certificates.`,
    ].join('\n'),
  );
  return 0;
}
