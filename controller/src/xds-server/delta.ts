import type { ResourceSet, SnapshotEntry } from '../snapshot/snapshot-entry.ts';

export interface Delta {
  readonly upserts: SnapshotEntry[];
  readonly removals: string[];
}

/**
 * What a runtime that holds `known` (name → version) needs to reach `desired`: the
 * resources it lacks or holds at another version, and the names it holds that are gone.
 */
export function computeDelta(known: ReadonlyMap<string, string>, desired: ResourceSet): Delta {
  const upserts: SnapshotEntry[] = [];
  const removals: string[] = [];
  for (const entry of desired.values()) {
    if (known.get(entry.name) !== entry.version) upserts.push(entry);
  }
  for (const name of known.keys()) {
    if (!desired.has(name)) removals.push(name);
  }
  return { upserts, removals };
}

/** The same, looking only at `names` (what changed since a snapshot the runtime fully holds). */
export function computeDeltaOf(known: ReadonlyMap<string, string>, desired: ResourceSet, names: ReadonlySet<string>): Delta {
  const upserts: SnapshotEntry[] = [];
  const removals: string[] = [];
  for (const name of names) {
    const entry = desired.get(name);
    if (entry === undefined) {
      if (known.has(name)) removals.push(name);
    } else if (known.get(name) !== entry.version) {
      upserts.push(entry);
    }
  }
  return { upserts, removals };
}
