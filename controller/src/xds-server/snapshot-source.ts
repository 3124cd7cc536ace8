import type { RuntimeAudience, SnapshotView } from '../snapshot/runtime-views.ts';

/**
 * Where the xDS server gets what it serves (go-control-plane calls it a cache): the
 * current snapshot as each runtime receives it, and what it knows of the revisions behind it.
 */
export interface SnapshotSource {
  /** What the runtimes of an audience (org, labels) receive; its snapshot is undefined until the first consistent one. */
  view(audience: RuntimeAudience): SnapshotView;
  /** The newest revision known to be committed (told to runtimes so they can tell their lag). */
  databaseRevision(): number;
  /** When `revision` was committed, if known here (for the commit-to-ACK metric). */
  committedAt(revision: number): number | undefined;
  /** A runtime holds a revision newer than the current snapshot: look for newer changes now. */
  requestNewer(): void;
}
