// CPU of the certificate work a join costs, measured in this process one operation at a time.
import { createCertificateAuthority, createSigningRequest, generateKeyPair, identityUris, privateKeyPem, signClientCertificate } from '@causeway/shared/pki';

export interface CertificateCost {
  /** A runtime's side: a new ECDSA key pair, its signing request and the key as PEM. */
  readonly keyAndRequestUs: number;
  /** A controller's side: verifying the request and signing the certificate. */
  readonly signUs: number;
}

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

export async function certificateCost(count = 200): Promise<CertificateCost> {
  const ca = await createCertificateAuthority('Causeway bench CA');
  const requests: string[] = [];
  let start = cpuUs();
  for (let i = 0; i < count; i++) {
    const keys = await generateKeyPair();
    requests.push(await createSigningRequest(keys, `bench-${i}`));
    await privateKeyPem(keys.privateKey);
  }
  const keyAndRequestUs = (cpuUs() - start) / count;
  start = cpuUs();
  for (const [i, request] of requests.entries()) {
    const uris = identityUris({ org: null, zone: 'bench', nodeId: `bench-${i}`, labels: {} });
    if ((await signClientCertificate(ca, request, `CN=bench-${i}`, uris, 86_400_000)) === undefined) throw new Error('a signing request did not verify');
  }
  return { keyAndRequestUs, signUs: (cpuUs() - start) / count };
}
