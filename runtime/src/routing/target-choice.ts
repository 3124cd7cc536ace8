import { hasUsable, pickCandidate, type Tried } from '../upstreams/balancer.ts';
import { isUsable } from '../upstreams/member-state.ts';
import type { ApiRoute, RouteTarget } from './serving-config.ts';

/**
 * Where the next attempt of a request goes (pure but for the balancer's cursor), or
 * undefined when nothing is left:
 * 1. While any local member is usable, a local member not tried yet (none: undefined);
 *    other zones are never used then.
 * 2. Otherwise, with failover, and unless the request was already forwarded by another
 *    zone's runtime (`hopped`): each failover zone in order, its usable members if it
 *    has any, else its DTC URL if that passes its checks; zones whose candidates were
 *    all tried are passed over.
 */
export function chooseTarget(route: ApiRoute, tried: Tried, hopped: boolean, now: number, random: () => number): RouteTarget | undefined {
  if (hasUsable(route.local, now)) return pickCandidate(route.local, route.balancer, tried, now, random);
  if (hopped) return undefined;
  for (const zone of route.failover) {
    if (hasUsable(zone.tiers, now)) {
      const member = pickCandidate(zone.tiers, route.balancer, tried, now, random);
      if (member !== undefined) return member;
    } else if (zone.dtc !== undefined && zone.dtc.state.healthy && !tried.includes(zone.dtc)) {
      return zone.dtc;
    }
  }
  return undefined;
}

function hasUntried(tiers: ApiRoute['local'], tried: Tried, now: number): boolean {
  for (const tier of tiers) for (const target of tier) if (isUsable(target.live.state, now) && !tried.includes(target)) return true;
  return false;
}

/** Whether `chooseTarget` would find anything, without picking (the balancer's cursor stays). */
export function hasCandidate(route: ApiRoute, tried: Tried, hopped: boolean, now: number): boolean {
  if (hasUsable(route.local, now)) return hasUntried(route.local, tried, now);
  if (hopped) return false;
  for (const zone of route.failover) {
    if (hasUsable(zone.tiers, now)) {
      if (hasUntried(zone.tiers, tried, now)) return true;
    } else if (zone.dtc !== undefined && zone.dtc.state.healthy && !tried.includes(zone.dtc)) {
      return true;
    }
  }
  return false;
}
