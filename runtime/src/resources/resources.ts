import type { MessageShape } from '@bufbuild/protobuf';
import type { ResourceKind, schemaByKind } from '@causeway/shared';

/** The message type held for a resource kind: Cluster, Zone or Api. */
export type MessageOf<K extends ResourceKind> = MessageShape<(typeof schemaByKind)[K]>;

/** One resource as received: its message and the version the controller gave it. */
export interface ResourceEntry<K extends ResourceKind> {
  readonly version: string;
  readonly message: MessageOf<K>;
}

export type ResourceMap<K extends ResourceKind> = ReadonlyMap<string, ResourceEntry<K>>;

export type ResourceMaps = { readonly [K in ResourceKind]: ResourceMap<K> };

/** Resources by kind and name, as the controller sent them, and the highest revision they came with. */
export type Resources = ResourceMaps & {
  /** The highest response revision applied. */
  readonly revision: bigint;
};

/** Where the resources in force came from. */
export type ConfigSource = 'none' | 'cache' | 'controller';

/** One response's worth of changes to one resource kind. */
export type ResourceUpdate = {
  readonly [K in ResourceKind]: {
    readonly kind: K;
    readonly revision: bigint;
    readonly upserts: ResourceMap<K>;
    readonly removals: readonly string[];
  };
}[ResourceKind];

export const emptyResources: Resources = Object.freeze({ revision: 0n, cluster: new Map(), zone: new Map(), api: new Map() });

/** name → version of what is held, as sent in `initial_resource_versions`. */
export function resourceVersions(resources: Resources, kind: ResourceKind): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const [name, entry] of resources[kind]) versions[name] = entry.version;
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

/** The resources after `update` (pure; the maps of other kinds are shared). */
export function mergeUpdate(resources: Resources, update: ResourceUpdate): Resources {
  const revision = update.revision > resources.revision ? update.revision : resources.revision;
  const { cluster, zone, api } = resources;
  switch (update.kind) {
    case 'cluster':
      return { revision, cluster: mergeMap(cluster, update.upserts, update.removals), zone, api };
    case 'zone':
      return { revision, cluster, zone: mergeMap(zone, update.upserts, update.removals), api };
    case 'api':
      return { revision, cluster, zone, api: mergeMap(api, update.upserts, update.removals) };
  }
}
