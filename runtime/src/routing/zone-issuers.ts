import { checkZoneIssuers, issuersSpecOf, type JwtIssuer } from '@causeway/shared';
import type { Api } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { ResourceMap } from '../resources/resources.ts';
import { failoverZoneOrder } from './failover-zones.ts';

/**
 * The issuers an API's jwt policy trusts when it lists none: those of this runtime's zone
 * and, for an API with failover, those of every zone it fails over to (a request that
 * fails over here from zone A carries a token of A's identity provider). Each issuer
 * once, the first zone's settings winning: own zone, then failover order.
 */
export function zoneIssuers(api: Api, zones: ResourceMap<'zone'>, ownZone: string): JwtIssuer[] {
  const trusted = new Map<string, JwtIssuer>();
  for (const zone of [ownZone, ...failoverZoneOrder(api.failover, zones, ownZone)]) {
    const message = zones.get(zone)?.message;
    if (message === undefined) continue;
    // Validation checked these same rules when the zone was applied.
    for (const issuer of checkZoneIssuers(issuersSpecOf(message.issuers)).issuers) if (!trusted.has(issuer.issuer)) trusted.set(issuer.issuer, issuer);
  }
  return [...trusted.values()];
}
