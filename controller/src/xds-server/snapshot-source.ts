import type { Snapshot } from '../snapshot/build-snapshot.ts';

/**
 * Where the xDS server gets what it serves (go-control-plane calls it a cache): the
 * current snapshot, and what it knows of the revisions behind it.
 */
export interface SnapshotSource {
  /** The snapshot to serve; undefined until the first consistent one. */
  current(): Snapshot | undefined;
  /** The newest revision known to be committed (told to runtimes so they can tell their lag). */
  databaseRevision(): number;
  /** When `revision` was committed, if known here (for the commit-to-ACK metric). */
  committedAt(revision: number): number | undefined;
  /** A runtime holds a revision newer than `current()`: look for newer changes now. */
  requestNewer(): void;
}
