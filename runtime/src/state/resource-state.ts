import type { MessageShape } from '@bufbuild/protobuf';
import type { ResourceKind, schemaByKind } from '@causeway/shared';

/** The message type held for a resource kind: Cluster, Zone or Api. */
export type MessageOf<K extends ResourceKind> = MessageShape<(typeof schemaByKind)[K]>;

export interface ResourceEntry<K extends ResourceKind> {
  readonly version: string;
  readonly message: MessageOf<K>;
}

export type ResourceMap<K extends ResourceKind> = ReadonlyMap<string, ResourceEntry<K>>;

export type ResourceMaps = { readonly [K in ResourceKind]: ResourceMap<K> };

/** Everything the runtime holds from the control plane, by resource name, and its revision. */
export interface ResourceState {
  /** The highest response revision applied. */
  readonly revision: bigint;
  readonly resources: ResourceMaps;
}

/** One response's worth of changes to one resource kind. */
export type ResourceUpdate = {
  readonly [K in ResourceKind]: {
    readonly kind: K;
    readonly revision: bigint;
    readonly upserts: ResourceMap<K>;
    readonly removals: readonly string[];
  };
}[ResourceKind];

export const emptyResourceState: ResourceState = Object.freeze({
  revision: 0n,
  resources: Object.freeze({ cluster: new Map(), zone: new Map(), api: new Map() }),
});

/** name → version of what is held, as sent in `initial_resource_versions`. */
export function resourceVersions(state: ResourceState, kind: ResourceKind): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const [name, entry] of state.resources[kind]) versions[name] = entry.version;
  return versions;
}

function mergeMap<K extends ResourceKind>(
  current: ResourceMap<K>,
  upserts: ResourceMap<K>,
  removals: readonly string[],
): ResourceMap<K> {
  const next = new Map(current);
  for (const name of removals) next.delete(name);
  for (const [name, entry] of upserts) next.set(name, entry);
  return next;
}

/** The state after `update` (pure; the maps of other kinds are shared). */
export function mergeUpdate(state: ResourceState, update: ResourceUpdate): ResourceState {
  const revision = update.revision > state.revision ? update.revision : state.revision;
  const resources: { -readonly [K in ResourceKind]: ResourceMap<K> } = { ...state.resources };
  switch (update.kind) {
    case 'cluster':
      resources.cluster = mergeMap(state.resources.cluster, update.upserts, update.removals);
      break;
    case 'zone':
      resources.zone = mergeMap(state.resources.zone, update.upserts, update.removals);
      break;
    case 'api':
      resources.api = mergeMap(state.resources.api, update.upserts, update.removals);
      break;
  }
  return { revision, resources };
}

/** Counts per kind, for logs and the admin dump. */
export function resourceCounts(state: ResourceState): Record<ResourceKind, number> {
  const { cluster, zone, api } = state.resources;
  return { cluster: cluster.size, zone: zone.size, api: api.size };
}
