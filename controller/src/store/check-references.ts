import { CausewayError, type ErrorDetail } from '@causeway/shared';
import type { Tx } from './database.ts';
import type { ApiSpec, Kind, PoolSpec, SpecByKind } from './records.ts';
import { checkFailoverZones } from './references.ts';
import { checkRouteConflicts } from './route-conflicts.ts';
import { tables } from './tables.ts';

/** What a spec names must exist in the same org: a missing one is the caller's mistake. */
export async function checkReferences(tx: Tx, kind: Kind, org: string, name: string, spec: SpecByKind[Kind], routesChecked: boolean): Promise<void> {
  if (kind === 'GatewayPool') {
    const members = (spec as PoolSpec).members;
    if (members.length === 0) return;
    const found = new Set(
      (await tx<{ name: string }[]>`SELECT name FROM gateways WHERE org_id = ${org} AND name IN ${tx(members as string[])}`).map((r) => r.name),
    );
    const details = members.flatMap((member, i) =>
      found.has(member) ? [] : [{ path: `spec.members[${i}]`, message: `gateway "${member}" does not exist` }],
    );
    if (details.length > 0) throw missingReferences(details);
  }
  if (kind === 'Api') {
    const api = spec as ApiSpec;
    const upstream = api.upstream;
    if ('gateway' in upstream) {
      if ((await tables.Gateway.get(tx, org, upstream.gateway)) === undefined) {
        throw missingReferences([{ path: 'spec.upstream.gateway', message: `gateway "${upstream.gateway}" does not exist` }]);
      }
    } else if ((await tables.GatewayPool.get(tx, org, upstream.pool)) === undefined) {
      throw missingReferences([{ path: 'spec.upstream.pool', message: `gateway pool "${upstream.pool}" does not exist` }]);
    }
    await checkFailoverZones(tx, api);
    if (!routesChecked) await checkRouteConflicts(tx, org, name, api);
  }
}

/**
 * A reference to what does not exist in the org is 404 with the field: another org's
 * resources are not there for this one, so the answer is the same as for a missing one.
 */
function missingReferences(details: readonly ErrorDetail[]): CausewayError {
  const first = details[0];
  return new CausewayError('not_found', first === undefined ? 'a referenced resource does not exist' : `${first.path}: ${first.message}`, { details });
}
