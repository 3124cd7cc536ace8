/**
 * Paths as routes compare them, and the canonical form a base path is stored and sent in.
 * Used on every request by the runtime (`routingPath`), so the common case (no `%`) costs
 * one scan.
 */

/** The longest base path, in its canonical form. */
export const MAX_BASE_PATH_LENGTH = 256;

const lowerEscape = /%[0-9a-f][a-f]|%[a-f][0-9A-F]/;

/**
 * A path as routes compare it: percent-escapes decoded except those of the characters
 * that delimit URI parts (`/ ? # @ : $ & + , ; =`, as `decodeURI` leaves them) and of
 * `%` itself, so an encoded slash never becomes a segment boundary; the escapes left are
 * upper-cased (`%2f` and `%2F` are one path). Anything from a `#` on is not part of the
 * path. Undefined when the encoding is broken (a `%` without two hex digits, or escapes
 * that are not UTF-8).
 */
export function routingPath(path: string): string | undefined {
  const hash = path.indexOf('#');
  const raw = hash === -1 ? path : path.slice(0, hash);
  if (!raw.includes('%')) return raw;
  let decoded: string;
  try {
    decoded = decodeURI(raw.replaceAll('%25', '%2525'));
  } catch {
    return undefined;
  }
  return lowerEscape.test(decoded) ? decoded.replace(/%[0-9a-fA-F]{2}/g, (escape) => escape.toUpperCase()) : decoded;
}

/** RFC 3986 `pchar` written literally: unreserved, sub-delims, ':' and '@'. */
const pcharLiteral = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]$/;
/** The characters of a raw base path: pchar, '/', and '%' (which must start an escape). */
const rawBasePath = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const validEscapes = /^(?:[^%]|%[0-9A-Fa-f]{2})*$/;

function encodeChar(char: string): string {
  let out = '';
  for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** Re-encodes a routing path as ASCII: pchar stays, every other character becomes escapes. */
function encodeRoutingPath(path: string): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const char = path[i] as string;
    if (char === '%') {
      // An escape routingPath kept (a delimiter or '%' itself), already upper-case.
      out += path.slice(i, i + 3);
      i += 2;
    } else if (char === '/' || pcharLiteral.test(char)) {
      out += char;
    } else {
      const code = path.codePointAt(i) ?? 0;
      const whole = String.fromCodePoint(code);
      out += encodeChar(whole);
      i += whole.length - 1;
    }
  }
  return out;
}

export type Normalized<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly rule: string };

const basePathRule = "must start with '/'";

/**
 * A base path in its canonical form, or the rule it breaks. Canonical: escapes that
 * routing decodes are decoded when the character may be written literally (`/%64up` →
 * `/dup`) and upper-cased otherwise, no trailing '/'. Two base paths route the same
 * requests exactly when their canonical forms are equal, so conflicts are checked on it.
 * Refused: empty, no leading '/', characters outside RFC 3986 path characters, broken
 * percent-encoding, empty segments, and '.' or '..' segments however spelled (`%2e%2e`).
 */
export function canonicalBasePath(raw: string): Normalized<string> {
  if (raw === '') return { ok: false, rule: `is empty; ${basePathRule} ('/' serves every path)` };
  if (!raw.startsWith('/')) return { ok: false, rule: basePathRule };
  if (!rawBasePath.test(raw)) {
    return { ok: false, rule: "has a character outside letters, digits, \"-._~!$&'()*+,;=:@/\" and %-escapes" };
  }
  const decoded = validEscapes.test(raw) ? routingPath(raw) : undefined;
  if (decoded === undefined) return { ok: false, rule: "has broken percent-encoding ('%' must start an escape of UTF-8, like %2F)" };
  const trimmed = decoded.length > 1 && decoded.endsWith('/') ? decoded.slice(0, -1) : decoded;
  if (trimmed !== '/') {
    for (const segment of trimmed.slice(1).split('/')) {
      if (segment === '') return { ok: false, rule: "has an empty segment ('//')" };
      if (segment === '.' || segment === '..') return { ok: false, rule: "has a '.' or '..' segment (plain or percent-encoded)" };
    }
  }
  const value = encodeRoutingPath(trimmed);
  if (value.length > MAX_BASE_PATH_LENGTH) return { ok: false, rule: `is longer than ${MAX_BASE_PATH_LENGTH} characters` };
  return { ok: true, value };
}
