import type { Failover, Zone } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { ResourceMap } from '../resources/resources.ts';

/**
 * The zones an API fails over to, in order (pure): `failover.zones` as listed when the
 * list is not empty; otherwise every zone with a DTC URL that is failover-eligible, by
 * `failover_priority` (lower first) then name. The runtime's own zone is never among
 * them; an API without failover has none.
 */
export function failoverZoneOrder(failover: Failover | undefined, zones: ResourceMap<'zone'>, ownZone: string): string[] {
  if (failover === undefined || !failover.enabled) return [];
  if (failover.zones.length > 0) return [...new Set(failover.zones)].filter((zone) => zone !== ownZone && zone !== '');
  const eligible: { readonly name: string; readonly zone: Zone }[] = [];
  for (const [name, { message }] of zones) {
    if (name !== ownZone && message.dtcUrl !== '' && message.failoverEligible) eligible.push({ name, zone: message });
  }
  eligible.sort((a, b) => a.zone.failoverPriority - b.zone.failoverPriority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return eligible.map((e) => e.name);
}
