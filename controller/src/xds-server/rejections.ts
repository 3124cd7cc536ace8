import type { ResourceKind } from '@causeway/shared';
import type { Delta } from './delta.ts';

/**
 * What one runtime refused on its stream, so that it is not sent again and again: the
 * versions of resources it rejected (resent once they change), and the removals it
 * refused (a cluster that an API it still holds uses: the last good version of an API
 * whose newer versions it rejected).
 */
export class Rejections {
  private readonly versions = new Map<ResourceKind, Map<string, string>>();
  private readonly removals = new Map<ResourceKind, Set<string>>();

  rejectVersion(kind: ResourceKind, name: string, version: string): void {
    let versions = this.versions.get(kind);
    if (versions === undefined) {
      versions = new Map();
      this.versions.set(kind, versions);
    }
    versions.set(name, version);
  }

  rejectRemoval(kind: ResourceKind, name: string): void {
    let names = this.removals.get(kind);
    if (names === undefined) {
      names = new Set();
      this.removals.set(kind, names);
    }
    names.add(name);
  }

  /**
   * The runtime applied a response touching `names`: their rejections are over. Once an
   * API it had rejected is applied or removed, the clusters that API's last good version
   * used may be free: every refused removal is tried again.
   */
  accepted(kind: ResourceKind, names: Iterable<string>): void {
    const versions = this.versions.get(kind);
    const removals = this.removals.get(kind);
    let ended = false;
    for (const name of names) {
      if (versions?.delete(name) === true) ended = true;
      removals?.delete(name);
    }
    if (ended && kind === 'api') this.removals.clear();
  }

  /** `delta` without what the runtime refused: rejected versions (a newer one is sent) and refused removals. */
  filter(kind: ResourceKind, delta: Delta): Delta {
    const versions = this.versions.get(kind);
    const removals = this.removals.get(kind);
    if ((versions === undefined || versions.size === 0) && (removals === undefined || removals.size === 0)) return delta;
    return {
      upserts: versions === undefined ? delta.upserts : delta.upserts.filter((e) => versions.get(e.name) !== e.version),
      removals: removals === undefined ? delta.removals : delta.removals.filter((name) => !removals.has(name)),
    };
  }
}
