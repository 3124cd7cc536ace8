import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@causeway/shared';
import { certificateUris, identityFromUris, signedBy } from '@causeway/shared/pki';
import { certs, type CertsFlags } from './certs-command.ts';

let dir: string;
const printed: string[] = [];
const io = { out: (line: string) => printed.push(line), err: (line: string) => printed.push(line) };
const none = { node: undefined, zone: undefined, org: undefined, labels: undefined, days: undefined };
const flags = (extra: Partial<CertsFlags>): CertsFlags => ({ dir, hosts: undefined, ...none, ...extra });
const mode = async (file: string) => (await stat(join(dir, file))).mode & 0o777;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'causeway-certs-'));
  printed.length = 0;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('causeway certs', () => {
  it('init writes a CA and a serving certificate for the hosts, keys 0600; a second init keeps the CA', async () => {
    expect(await certs(['init'], flags({ hosts: ['controller-a', '10.0.0.7'] }), io)).toBe(0);
    expect([await mode('ca.key'), await mode('controller.key'), await mode('ca.crt')]).toEqual([0o600, 0o600, 0o644]);
    const ca = await readFile(join(dir, 'ca.crt'), 'utf8');
    const serving = new X509Certificate(await readFile(join(dir, 'controller.crt')));
    expect(serving.subjectAltName).toBe('DNS:controller-a, IP Address:10.0.0.7');
    expect(await signedBy(serving.toString(), ca)).toBe(true);

    expect(await certs(['init'], flags({}), io)).toBe(0);
    expect(await readFile(join(dir, 'ca.crt'), 'utf8')).toBe(ca); // runtimes that trust it keep working
    const renewed = await readFile(join(dir, 'controller.crt'), 'utf8');
    expect(new X509Certificate(renewed).serialNumber).not.toBe(serving.serialNumber);
    expect(await signedBy(renewed, ca)).toBe(true);
    expect(printed.join('\n')).toContain('already holds a CA');
  });

  it('runtime writes a client certificate carrying the runtime identity, signed by the CA', async () => {
    await certs(['init'], flags({}), io);
    const request = flags({ node: 'runtime-eu-1', zone: 'eu-1', org: 'acme', labels: ['env=prod', 'tier='] });
    expect(await certs(['runtime'], request, io)).toBe(0);
    const pem = await readFile(join(dir, 'runtime-runtime-eu-1.crt'), 'utf8');
    expect(await mode('runtime-runtime-eu-1.key')).toBe(0o600);
    expect(identityFromUris(certificateUris(pem))).toEqual({ org: 'acme', zone: 'eu-1', nodeId: 'runtime-eu-1', labels: { env: 'prod', tier: '' } });
    expect(await signedBy(pem, await readFile(join(dir, 'ca.crt'), 'utf8'))).toBe(true);
    expect(new X509Certificate(pem).keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // client authentication only
  });

  it('runtime names every bad flag at once, and needs a CA', async () => {
    const bad = certs(['runtime'], flags({ node: 'a b', zone: 'EU', labels: ['x'], days: '0' }), io);
    await expect(bad).rejects.toThrow(ConfigError);
    await expect(bad).rejects.toThrow(/--node: "a b" .*--zone: "EU" .*--label: "x" .*--days: "0"/s);
    await expect(certs(['runtime'], flags({ node: 'rt-1', zone: 'eu-1' }), io)).rejects.toThrow(/run causeway certs init/);
  });
});
