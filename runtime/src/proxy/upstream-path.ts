/** The path an attempt asks a member for; computed on every request: keep it allocation-light. */

/**
 * The part of `path` after the API's base path, by whole segments: with base path
 * `/orders`, `/orders/1` → `/1`, `/orders` → ``. The raw path may spell the base path
 * with percent-escapes the router decoded, hence the segment walk when it does not
 * start with the base path literally.
 */
function pathAfterBase(path: string, basePath: string, segments: number): string {
  if (segments === 0) return path;
  if (path.startsWith(basePath)) return path.slice(basePath.length);
  let seen = 0;
  for (let i = 0; i < path.length; i++) {
    if (path.charCodeAt(i) === 47 && seen++ === segments) return path.slice(i);
  }
  return '';
}

/**
 * The path sent upstream: the member URL's own path prefix, then the request path with
 * the base path removed when `strip` is set (an empty rest becomes `/`), then the query.
 */
export function upstreamPath(
  memberPrefix: string,
  path: string,
  query: string,
  strip: boolean,
  basePath: string,
  segments: number,
): string {
  let rest = strip ? pathAfterBase(path, basePath, segments) : path;
  if (memberPrefix === '' && rest === '') rest = '/';
  return memberPrefix + rest + query;
}
