import type { ResourceKind } from '@causeway/shared';
import type { DiscoveryResponse } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import type { MemberReport } from '../health/member-tracker.ts';

/** What applying one response came to: ACKed with what it changed, or NACKed with why. */
export type ApplyOutcome =
  | { readonly ok: true; readonly kind: ResourceKind; readonly revision: bigint; readonly upserts: number; readonly removals: number }
  | { readonly ok: false; readonly kind: ResourceKind | undefined; readonly message: string };

/**
 * What the xDS client applies responses to and reports from (the ConfigApplier): declared
 * here, so the stream knows nothing of how a config is applied.
 */
export interface ConfigTarget {
  apply(response: DiscoveryResponse): ApplyOutcome;
  versions(kind: ResourceKind): Record<string, string>;
  readonly revision: bigint;
  /** What this runtime sees of every member of every cluster in use. */
  memberReports(): MemberReport[];
}

