import type { ResourceKind } from '@causeway/shared';
import { ResourceIndex } from './resource-index.ts';
import type { ResourceEntry, ResourceMap, Resources, ResourceUpdate } from './resources.ts';

function applyTo<K extends ResourceKind>(
  map: Map<string, ResourceEntry<K>>,
  upserts: ReadonlyMap<string, ResourceEntry<K>>,
  removals: readonly string[],
  onChange?: (name: string, previous: ResourceEntry<K> | undefined, next: ResourceEntry<K> | undefined) => void,
): void {
  for (const name of removals) {
    const previous = map.get(name);
    if (previous === undefined) continue;
    map.delete(name);
    onChange?.(name, previous, undefined);
  }
  for (const [name, entry] of upserts) {
    onChange?.(name, map.get(name), entry);
    map.set(name, entry);
  }
}

/**
 * The resources in force and their index, changed in place by `apply` (so an update
 * costs what it changes, not what is held). Readers see the resources of the last
 * applied update as long as they read synchronously.
 */
export class HeldResources implements Resources {
  private currentRevision = 0n;
  private readonly clusters = new Map<string, ResourceEntry<'cluster'>>();
  private readonly zones = new Map<string, ResourceEntry<'zone'>>();
  private readonly apis = new Map<string, ResourceEntry<'api'>>();
  readonly index = new ResourceIndex();

  get revision(): bigint {
    return this.currentRevision;
  }

  get cluster(): ResourceMap<'cluster'> {
    return this.clusters;
  }

  get zone(): ResourceMap<'zone'> {
    return this.zones;
  }

  get api(): ResourceMap<'api'> {
    return this.apis;
  }

  /** Applies an update that was validated against these resources. */
  apply(update: ResourceUpdate): void {
    if (update.revision > this.currentRevision) this.currentRevision = update.revision;
    switch (update.kind) {
      case 'cluster':
        applyTo(this.clusters, update.upserts, update.removals);
        break;
      case 'zone':
        applyTo(this.zones, update.upserts, update.removals);
        break;
      case 'api':
        applyTo(this.apis, update.upserts, update.removals, (name, previous, next) => {
          if (previous !== undefined) this.index.remove(name, previous.message);
          if (next !== undefined) this.index.add(name, next.message);
        });
        break;
    }
  }
}
