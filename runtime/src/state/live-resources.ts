import type { ResourceKind } from '@causeway/shared';
import { ResourceIndex } from './resource-index.ts';
import type { ResourceEntry, ResourceMaps, ResourceState, ResourceUpdate } from './resource-state.ts';

type MutableMaps = { readonly [K in ResourceKind]: Map<string, ResourceEntry<K>> };

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
 * costs what it changes, not what is held). Readers see the state of the last applied
 * update as long as they read synchronously.
 */
export class LiveResources implements ResourceState {
  private currentRevision = 0n;
  private readonly maps: MutableMaps = { cluster: new Map(), zone: new Map(), api: new Map() };
  readonly index = new ResourceIndex();

  get revision(): bigint {
    return this.currentRevision;
  }

  get resources(): ResourceMaps {
    return this.maps;
  }

  /** Applies an update that was validated against this state. */
  apply(update: ResourceUpdate): void {
    if (update.revision > this.currentRevision) this.currentRevision = update.revision;
    switch (update.kind) {
      case 'cluster':
        applyTo(this.maps.cluster, update.upserts, update.removals);
        break;
      case 'zone':
        applyTo(this.maps.zone, update.upserts, update.removals);
        break;
      case 'api':
        applyTo(this.maps.api, update.upserts, update.removals, (name, previous, next) => {
          if (previous !== undefined) this.index.remove(name, previous.message);
          if (next !== undefined) this.index.add(name, next.message);
        });
        break;
    }
  }
}
