import { routingPath, type PolicyOverride } from '@causeway/shared';

/** An encoded slash: a segment boundary to an upstream that decodes it, so one here too. */
const segmentBoundary = /\/|%2F/;

/** A segment without its path parameters: `admin;jsessionid=1` is `admin`. */
function withoutParameters(segment: string): string {
  const semicolon = segment.indexOf(';');
  return semicolon === -1 ? segment : segment.slice(0, semicolon);
}

/**
 * The segments of a path as routes compare it (`routingPath`: escapes decoded, those of
 * delimiters kept upper-case), split at '/' and at an encoded slash, path parameters cut
 * (servlet containers drop them, so `/admin;x=1` reaches an upstream's `/admin`), empty
 * ones dropped: `//admin`, `/admin/`, `/%61dmin` and `/admin;x` are all `admin`. Dot
 * segments never get here (the proxy refuses them before routing).
 */
export function pathSegments(path: string): string[] {
  return (routingPath(path) ?? path).split(segmentBoundary).map(withoutParameters).filter((s) => s !== '');
}

/** Where an override applies: its methods (none: all) and a path prefix under the API's base path, by whole segments. */
export class OverrideMatch {
  private readonly methods: ReadonlySet<string> | undefined;
  private readonly prefix: readonly string[];

  constructor(override: PolicyOverride) {
    this.methods = override.methods.length === 0 ? undefined : new Set(override.methods);
    this.prefix = pathSegments(override.pathPrefix);
  }

  /** `segments`: the request path's, from the first one under the API's base path. */
  matches(method: string, segments: readonly string[], from: number): boolean {
    if (this.methods !== undefined && !this.methods.has(method)) return false;
    if (segments.length - from < this.prefix.length) return false;
    return this.prefix.every((segment, i) => segments[from + i] === segment);
  }

  same(other: OverrideMatch): boolean {
    const methods = (m: ReadonlySet<string> | undefined) => [...(m ?? [])].join(',');
    return methods(this.methods) === methods(other.methods) && this.prefix.join('/') === other.prefix.join('/');
  }
}
