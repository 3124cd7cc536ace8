import type { ResourceKind } from '@causeway/shared';
import { mergeUpdate, type MessageOf, type ResourceMap, type ResourceMaps, type Resources, type ResourceUpdate } from './resources.ts';

/**
 * The resources that updates would leave, read through to the ones held without
 * building them all: the updates' resources first, then the held ones they do not
 * remove. Zones (few) are merged into one map, for failover zone order.
 */
export class PendingResources {
  private readonly held: ResourceMaps;
  private readonly updates: { [K in ResourceKind]?: { readonly upserts: ResourceMap<K>; readonly removed: ReadonlySet<string> } } = {};
  readonly zones: ResourceMap<'zone'>;

  constructor(held: Resources, updates: readonly ResourceUpdate[]) {
    this.held = held;
    let zones = held;
    for (const update of updates) {
      const removed = new Set(update.removals);
      switch (update.kind) {
        case 'cluster':
          this.updates.cluster = { upserts: update.upserts, removed };
          break;
        case 'zone':
          this.updates.zone = { upserts: update.upserts, removed };
          zones = mergeUpdate(zones, update);
          break;
        case 'api':
          this.updates.api = { upserts: update.upserts, removed };
          break;
      }
    }
    this.zones = zones.zone;
  }

  get<K extends ResourceKind>(kind: K, name: string): MessageOf<K> | undefined {
    const update = this.updates[kind];
    const upserted = update?.upserts.get(name);
    if (upserted !== undefined) return upserted.message;
    if (update?.removed.has(name) === true) return undefined;
    return this.held[kind].get(name)?.message;
  }
}
