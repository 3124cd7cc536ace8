import type { Normalized } from './paths.ts';

export const MAX_URL_LENGTH = 2048;

/** Whether the text has control characters or spaces, which the URL parser would silently drop or trim. */
function hasControlOrSpace(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** The authority of an absolute URL as written (between `//` and the path). */
function authority(raw: string): string {
  const start = raw.indexOf('//');
  if (start === -1) return '';
  const end = raw.indexOf('/', start + 2);
  return raw.slice(start + 2, end === -1 ? raw.length : end);
}

/**
 * An upstream gateway's or a zone's DTC URL in its canonical form, or the rule it
 * breaks: a plain `http://` or `https://` origin with an optional path, no credentials,
 * query or fragment. Canonical: scheme and host lower-case, the scheme's default port
 * and a trailing '/' dropped, dot segments resolved (`HTTP://GW.example:80/a/` →
 * `http://gw.example/a`).
 */
export function canonicalUpstreamUrl(raw: string): Normalized<string> {
  if (raw.length > MAX_URL_LENGTH) return { ok: false, rule: `is longer than ${MAX_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, rule: 'is not an absolute URL like http://host:port' };
  }
  if (hasControlOrSpace(raw)) return { ok: false, rule: 'contains spaces or control characters' };
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, rule: 'must use http or https' };
  if (url.username !== '' || url.password !== '' || authority(raw).includes('@')) {
    return { ok: false, rule: 'must not contain credentials' };
  }
  if (raw.includes('?') || raw.includes('#')) return { ok: false, rule: 'must not have a query or fragment' };
  if (url.hostname === '') return { ok: false, rule: 'has no host' };
  const path = url.pathname.replace(/\/+$/, '');
  return { ok: true, value: `${url.protocol}//${url.host}${path}` };
}
