import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Token secrets: `cw_` and 40 random bytes in base64url. The first 8 bytes name the token
 * (its id, shown in lists and audit events, not secret); the whole secret is stored only
 * as a SHA-256 digest. 256 random bits need no slow hash: nothing can be guessed from a
 * digest, and a fast one keeps authentication cheap on every request.
 */
const TOKEN_PREFIX = 'cw_';
const ID_BYTES = 8;
const SECRET_BYTES = 32;
const TOKEN_LENGTH = TOKEN_PREFIX.length + Math.ceil(((ID_BYTES + SECRET_BYTES) * 4) / 3);

export interface NewToken {
  readonly id: string;
  /** Shown once, never stored. */
  readonly secret: string;
  readonly digest: Buffer;
}

export function digestOf(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function newToken(): NewToken {
  const bytes = randomBytes(ID_BYTES + SECRET_BYTES);
  const secret = TOKEN_PREFIX + bytes.toString('base64url');
  return { id: idOf(bytes), secret, digest: digestOf(secret) };
}

function idOf(bytes: Buffer): string {
  return `tok_${bytes.subarray(0, ID_BYTES).toString('hex')}`;
}

/** The id a presented secret claims, or undefined when it is not shaped like one of ours. */
export function claimedId(secret: string): string | undefined {
  if (secret.length !== TOKEN_LENGTH || !secret.startsWith(TOKEN_PREFIX)) return undefined;
  const bytes = Buffer.from(secret.slice(TOKEN_PREFIX.length), 'base64url');
  return bytes.length === ID_BYTES + SECRET_BYTES ? idOf(bytes) : undefined;
}

/** Constant-time comparison of a presented secret with a stored digest. */
export function matches(secret: string, digest: Buffer): boolean {
  const presented = digestOf(secret);
  return presented.length === digest.length && timingSafeEqual(presented, digest);
}
