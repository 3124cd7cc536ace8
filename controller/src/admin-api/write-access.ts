import { CausewayError } from '@causeway/shared';
import { allows, describeNeed, type Need, type Subject } from '../access/permissions.ts';
import type { ApiSpec, Kind, SpecByKind } from '../store/records.ts';
import type { ResourceStore } from '../store/resource-store.ts';
import type { Principal } from './access.ts';

const subjectOf: Readonly<Record<Kind, Subject>> = { Api: 'apis', Consumer: 'consumers', Gateway: 'gateways', GatewayPool: 'gateway-pools', Zone: 'zones' };

interface Write {
  readonly kind: Kind;
  readonly name: string;
  readonly spec: SpecByKind[Kind];
}

function refuse(principal: Principal, need: Need, why: string): CausewayError {
  return new CausewayError(
    'permission_denied',
    `token "${principal.actor.name}" (role ${principal.role}) may not ${why}: needs ${describeNeed(need)}`,
  );
}

function require(principal: Principal, need: Need, why: string): void {
  if (principal.systemAdmin) return;
  if (need.subject === 'zones') throw new CausewayError('permission_denied', `token "${principal.actor.name}" (role ${principal.role}) may not ${why} (system administrators only)`);
  if (!allows(principal.permissions, need)) throw refuse(principal, need, why);
}

/** What an API names as its upstream, as the `attach` permission it needs. */
function upstreamNeed(spec: ApiSpec): { need: Need; what: string } {
  return 'pool' in spec.upstream
    ? { need: { subject: 'gateway-pools', action: 'attach' }, what: `gateway pool "${spec.upstream.pool}"` }
    : { need: { subject: 'gateways', action: 'attach' }, what: `gateway "${spec.upstream.gateway}"` };
}

function sameUpstream(a: ApiSpec | undefined, b: ApiSpec): boolean {
  return a !== undefined && JSON.stringify(a.upstream) === JSON.stringify(b.upstream);
}

/**
 * What writing these documents needs beyond the route's own permission: `create` for
 * what does not exist yet, and `attach` on a gateway or pool that an API is made to name
 * (a new API, or one whose upstream changes). Resources of other orgs are invisible to
 * the store handle, so naming one is answered by the write itself (404), never here.
 */
export async function authorizeWrites(principal: Principal, store: ResourceStore, writes: readonly Write[], existing?: ReadonlyMap<string, unknown>): Promise<void> {
  if (principal.systemAdmin) return;
  for (const write of writes) {
    const subject = subjectOf[write.kind];
    const key = `${write.kind}/${write.name}`;
    const current = existing === undefined ? await store.get(write.kind, write.name) : existing.get(key);
    if (current === undefined) require(principal, { subject, action: 'create' }, `create ${subject}`);
    else require(principal, { subject, action: 'edit' }, `edit ${subject}`);
    if (write.kind !== 'Api') continue;
    const spec = write.spec as ApiSpec;
    if (sameUpstream((current as { spec?: ApiSpec } | undefined)?.spec, spec)) continue;
    const { need, what } = upstreamNeed(spec);
    require(principal, need, `attach ${what} to api "${write.name}"`);
  }
}

/** The stored records a many-document write would replace, by `Kind/name`: one list per kind it carries. */
export async function existingOf(store: ResourceStore, writes: readonly Write[]): Promise<Map<string, unknown>> {
  const existing = new Map<string, unknown>();
  for (const kind of new Set(writes.map((w) => w.kind))) {
    for (const record of await store.list(kind)) existing.set(`${kind}/${record.name}`, record);
  }
  return existing;
}
