/** Request-target helpers used on every request: keep them allocation-light. */

/** `/orders/` and `/orders` are the same base path; `/` stays `/`. */
export function normalizeBasePath(basePath: string): string {
  return basePath.length > 1 && basePath.endsWith('/') ? basePath.slice(0, -1) : basePath;
}

/** Number of segments of a normalized base path: `/` → 0, `/a/b` → 2. */
export function segmentCount(basePath: string): number {
  if (basePath === '/') return 0;
  let count = 0;
  for (let i = 0; i < basePath.length; i++) if (basePath.charCodeAt(i) === 47) count++;
  return count;
}

/**
 * The host a request is routed by: lower-case, port and a trailing dot removed
 * (`API.Example.com.:8080` → `api.example.com`, `[::1]:80` → `[::1]`). Empty when absent.
 */
export function normalizeHost(raw: string | undefined): string {
  if (raw === undefined || raw === '') return '';
  let end = raw.length;
  if (raw.charCodeAt(0) === 91) {
    // '[': an IPv6 literal; the port, if any, follows the closing bracket.
    const close = raw.indexOf(']');
    end = close === -1 ? raw.length : close + 1;
  } else {
    const colon = raw.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  if (end > 1 && raw.charCodeAt(end - 1) === 46) end--; // trailing '.'
  const host = end === raw.length ? raw : raw.slice(0, end);
  return host.toLowerCase();
}

/**
 * True when the path has a `.` or `..` segment, plain or percent-encoded. Such requests
 * are refused: an upstream that resolves them could be reached outside the base path.
 */
export function hasDotSegment(path: string): boolean {
  if (!path.includes('/.') && !path.includes('%2')) return false;
  return /\/(?:\.|%2e){1,2}(?:\/|$)/i.test(path);
}
