import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Put by a runtime on a request it forwards to another zone's DTC URL; the receiving
 * runtime serves such a request with its local members only, never forwarding it again.
 * `<zone>;<unix seconds>;<base64url HMAC-SHA256(hop key, "zone|seconds|method|path")>`,
 * with the hop key every Zone resource carries: only runtimes receive config, so only
 * they can make one. A marker that does not verify or is not recent is ignored.
 */
export const hopHeader = 'x-causeway-hop';

/** How far a marker's time may be from this runtime's clock: forwarding takes milliseconds, clocks differ by seconds. */
const hopMaxSkewSeconds = 60;

const macBytes = 32;
const secondsPattern = /^\d{1,12}$/;

function mac(key: Uint8Array, zone: string, seconds: string, method: string, path: string): Buffer {
  return createHmac('sha256', key).update(`${zone}|${seconds}|${method}|${path}`).digest();
}

/** The marker of a request this runtime (in `zone`) forwards, for the path the other zone routes by. */
export function signHop(key: Uint8Array, zone: string, nowSeconds: number, method: string, path: string): string {
  const seconds = String(nowSeconds);
  return `${zone};${seconds};${mac(key, zone, seconds, method, path).toString('base64url')}`;
}

/**
 * Whether a marker was made by a runtime holding one of `keys` for this method and
 * path within `hopMaxSkewSeconds` of now. Without keys (no zones held), none is.
 */
export function verifyHop(value: string, keys: readonly Uint8Array[], nowSeconds: number, method: string, path: string): boolean {
  if (keys.length === 0) return false;
  const first = value.indexOf(';');
  const second = value.indexOf(';', first + 1);
  if (first <= 0 || second === -1) return false;
  const seconds = value.slice(first + 1, second);
  if (!secondsPattern.test(seconds) || Math.abs(nowSeconds - Number(seconds)) > hopMaxSkewSeconds) return false;
  const given = Buffer.from(value.slice(second + 1), 'base64url');
  if (given.length !== macBytes) return false;
  const zone = value.slice(0, first);
  for (const key of keys) if (timingSafeEqual(mac(key, zone, seconds, method, path), given)) return true;
  return false;
}
