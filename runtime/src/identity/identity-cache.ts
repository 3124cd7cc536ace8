import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@causeway/shared';
import { heldCertificate, identityProblem, type ExpectedIdentity, type HeldCertificate } from './held-certificate.ts';

const certificateName = 'runtime-identity.crt';
const keyName = 'runtime-identity.key';

async function writePrivate(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * The issued certificate and its key in CAUSEWAY_CACHE_DIR (mode 0600, as the config
 * cache), so a restarted runtime reconnects without its join token while the
 * certificate is valid. The key is written nowhere else and never sent.
 */
export class IdentityCache {
  private readonly dir: string;
  private readonly log: Logger;

  constructor(dir: string, log: Logger) {
    this.dir = dir;
    this.log = log;
  }

  /** A certificate of this node and zone that is still valid for a while, else undefined. */
  async load(expected: ExpectedIdentity, now: number): Promise<HeldCertificate | undefined> {
    const certificateFile = join(this.dir, certificateName);
    let held: HeldCertificate;
    try {
      const [certificatePem, keyPem, info] = await Promise.all([
        readFile(certificateFile, 'utf8'),
        readFile(join(this.dir, keyName), 'utf8'),
        stat(certificateFile),
      ]);
      held = heldCertificate(certificatePem, keyPem, Math.min(info.mtimeMs, now));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err: error, dir: this.dir }, 'ignoring the cached certificate');
      return undefined;
    }
    const problem = identityProblem(held, expected, 'the cached certificate');
    if (problem !== undefined || held.notAfter.getTime() <= now) {
      this.log.info({ dir: this.dir, reason: problem ?? 'expired' }, 'not using the cached certificate');
      return undefined;
    }
    return held;
  }

  async save(held: HeldCertificate): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      // Key first: a certificate on disk always has its key beside it.
      await writePrivate(join(this.dir, keyName), held.privateKeyPem);
      await writePrivate(join(this.dir, certificateName), held.certificatePem);
    } catch (error) {
      this.log.warn({ err: error, dir: this.dir }, 'cannot keep the certificate in the cache directory');
    }
  }
}
