import { LbPolicy } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { isUsable, type LiveMember } from './member-state.ts';

/** Anything the balancer can choose: it only looks at the member's live state. */
export interface Candidate {
  readonly live: LiveMember;
}

/** Members of one zone grouped by priority, lower (preferred, as Envoy priorities) first. */
export type Tiers<T> = readonly (readonly T[])[];

export interface BalancerState {
  readonly policy: LbPolicy;
  /** Round-robin position; shared by the requests of one API. */
  cursor: number;
}

export function groupTiers<T>(items: readonly T[], priority: (item: T) => number): Tiers<T> {
  const keyed = items.map((item) => ({ item, priority: priority(item) }));
  keyed.sort((a, b) => a.priority - b.priority);
  const tiers: T[][] = [];
  let last: number | undefined;
  for (const { item, priority: p } of keyed) {
    if (last !== p) tiers.push([]);
    tiers[tiers.length - 1]?.push(item);
    last = p;
  }
  return tiers;
}

/** Targets already tried by a request (members and DTC targets alike). */
export type Tried = readonly object[];

function eligible(candidate: Candidate, tried: Tried, now: number): boolean {
  return isUsable(candidate.live.state, now) && !tried.includes(candidate);
}

/** Whether any member of the tiers is usable, tried or not. */
export function hasUsable(tiers: Tiers<Candidate>, now: number): boolean {
  for (const tier of tiers) for (const candidate of tier) if (isUsable(candidate.live.state, now)) return true;
  return false;
}

/** The `index`-th eligible candidate of a tier. */
function nth<T extends Candidate>(tier: readonly T[], index: number, tried: Tried, now: number): T | undefined {
  let seen = 0;
  for (const candidate of tier) {
    if (eligible(candidate, tried, now) && seen++ === index) return candidate;
  }
  return undefined;
}

/**
 * Chooses a member: the first tier with a usable member not yet tried wins, and within
 * it the API's policy picks (random, round-robin, or least-request as the better of two
 * random choices).
 */
export function pickCandidate<T extends Candidate>(
  tiers: Tiers<T>,
  balancer: BalancerState,
  tried: Tried,
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
        // RANDOM: validation refuses an Api whose policy is unspecified.
        return nth(tier, Math.floor(random() * count), tried, now);
    }
  }
  return undefined;
}

/** Usable members of a list, for the body of a 503. */
export function usableCount(candidates: readonly Candidate[], now: number): number {
  let count = 0;
  for (const candidate of candidates) if (isUsable(candidate.live.state, now)) count++;
  return count;
}
