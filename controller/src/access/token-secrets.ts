import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Token secrets: `cw_` and 40 random bytes in base64url. The first 8 bytes name the token
 * (its id, shown in lists and audit events, not secret); the whole secret is stored only
 * as a SHA-256 digest. 256 random bits need no slow hash: nothing can be guessed from a
 * digest, and a fast one keeps authentication cheap on every request.
 */
const ID_BYTES = 8;
const SECRET_BYTES = 32;

/** How the secrets and ids of one kind of token are spelled. */
export interface TokenFormat {
  readonly secretPrefix: string;
  readonly idPrefix: string;
}

/** Admin API tokens: `cw_…`, ids `tok_…`. */
const adminTokens: TokenFormat = { secretPrefix: 'cw_', idPrefix: 'tok_' };
/** Runtime join tokens: `cwj_…`, ids `rtk_…`; never valid as admin tokens, nor the reverse. */
export const joinTokens: TokenFormat = { secretPrefix: 'cwj_', idPrefix: 'rtk_' };
/** API keys of consumers: `cwk_…`, ids `key_…`; sent by clients to runtimes, never valid at the admin API. */
export const consumerKeys: TokenFormat = { secretPrefix: 'cwk_', idPrefix: 'key_' };

const tokenLength = (format: TokenFormat): number => format.secretPrefix.length + Math.ceil(((ID_BYTES + SECRET_BYTES) * 4) / 3);

export interface NewToken {
  readonly id: string;
  /** Shown once, never stored. */
  readonly secret: string;
  readonly digest: Buffer;
}

export function digestOf(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function newToken(format: TokenFormat = adminTokens): NewToken {
  const bytes = randomBytes(ID_BYTES + SECRET_BYTES);
  const secret = format.secretPrefix + bytes.toString('base64url');
  return { id: idOf(bytes, format), secret, digest: digestOf(secret) };
}

function idOf(bytes: Buffer, format: TokenFormat): string {
  return `${format.idPrefix}${bytes.subarray(0, ID_BYTES).toString('hex')}`;
}

/** The id a presented secret claims, or undefined when it is not shaped like one of ours. */
export function claimedId(secret: string, format: TokenFormat = adminTokens): string | undefined {
  if (secret.length !== tokenLength(format) || !secret.startsWith(format.secretPrefix)) return undefined;
  const bytes = Buffer.from(secret.slice(format.secretPrefix.length), 'base64url');
  return bytes.length === ID_BYTES + SECRET_BYTES ? idOf(bytes, format) : undefined;
}

/** Constant-time comparison of a presented secret with a stored digest. */
export function matches(secret: string, digest: Buffer): boolean {
  const presented = digestOf(secret);
  return presented.length === digest.length && timingSafeEqual(presented, digest);
}
