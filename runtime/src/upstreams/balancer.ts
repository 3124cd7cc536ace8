import { LbPolicy } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { isUsable, type MemberLiveState } from './member-state.ts';

/** Anything the balancer can choose: it only looks at the member's live state. */
export interface Candidate {
  readonly live: MemberLiveState;
}

/** Where a member sits in the order of preference. */
export interface Placement {
  /** In the runtime's zone (or in no zone at all). */
  readonly local: boolean;
  /** Lower is preferred, as Envoy priorities. */
  readonly priority: number;
}

/** Members grouped by preference: local zone first, then by priority. */
export type Tiers<T> = readonly (readonly T[])[];

export interface BalancerState {
  readonly policy: LbPolicy;
  /** Round-robin position; shared by the requests of one API. */
  cursor: number;
}

export function groupTiers<T>(items: readonly T[], placement: (item: T) => Placement): Tiers<T> {
  const keyed = items.map((item) => ({ item, place: placement(item) }));
  keyed.sort((a, b) => Number(b.place.local) - Number(a.place.local) || a.place.priority - b.place.priority);
  const tiers: T[][] = [];
  let last: Placement | undefined;
  for (const { item, place } of keyed) {
    if (last === undefined || last.local !== place.local || last.priority !== place.priority) tiers.push([]);
    tiers[tiers.length - 1]?.push(item);
    last = place;
  }
  return tiers;
}

function eligible<T extends Candidate>(candidate: T, tried: readonly T[], now: number): boolean {
  return isUsable(candidate.live.state, now) && !tried.includes(candidate);
}

/** The `index`-th eligible candidate of a tier. */
function nth<T extends Candidate>(tier: readonly T[], index: number, tried: readonly T[], now: number): T | undefined {
  let seen = 0;
  for (const candidate of tier) {
    if (eligible(candidate, tried, now) && seen++ === index) return candidate;
  }
  return undefined;
}

/**
 * Chooses a member: the first tier with a usable member not yet tried wins, and within
 * it the API's policy picks (random by default; round-robin; least-request as the
 * better of two random choices).
 */
export function pickCandidate<T extends Candidate>(
  tiers: Tiers<T>,
  balancer: BalancerState,
  tried: readonly T[],
  now: number,
  random: () => number,
): T | undefined {
  for (const tier of tiers) {
    let count = 0;
    for (const candidate of tier) if (eligible(candidate, tried, now)) count++;
    if (count === 0) continue;
    if (count === 1) return nth(tier, 0, tried, now);
    switch (balancer.policy) {
      case LbPolicy.ROUND_ROBIN: {
        const index = balancer.cursor % count;
        balancer.cursor = (balancer.cursor + 1) % 1_000_000_007;
        return nth(tier, index, tried, now);
      }
      case LbPolicy.LEAST_REQUEST: {
        const first = Math.floor(random() * count);
        const second = (first + 1 + Math.floor(random() * (count - 1))) % count;
        const a = nth(tier, first, tried, now);
        const b = nth(tier, second, tried, now);
        if (a === undefined || b === undefined) return a ?? b;
        return b.live.activeRequests < a.live.activeRequests ? b : a;
      }
      default:
        return nth(tier, Math.floor(random() * count), tried, now);
    }
  }
  return undefined;
}

/** Usable members over all tiers, for the body of a 503. */
export function usableCount<T extends Candidate>(tiers: Tiers<T>, now: number): number {
  let count = 0;
  for (const tier of tiers) for (const candidate of tier) if (isUsable(candidate.live.state, now)) count++;
  return count;
}
