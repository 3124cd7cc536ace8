import { emptyAccess, type AccessEntityState, type AccessModel } from '../store/access-tables.ts';
import type { ApiRecord, EntityState, GatewayRecord, PoolRecord, StoredRecord, ZoneRecord } from '../store/records.ts';
import { recordKey } from '../store/records.ts';

/** The controller's in-memory copy of everything in the store, as of `revision`. */
export interface Model {
  readonly revision: number;
  readonly apis: ReadonlyMap<string, ApiRecord>;
  readonly gateways: ReadonlyMap<string, GatewayRecord>;
  readonly pools: ReadonlyMap<string, PoolRecord>;
  readonly zones: ReadonlyMap<string, ZoneRecord>;
  /** Orgs, roles and live tokens: what the admin API authenticates and authorises by. */
  readonly access: AccessModel;
}

export const emptyModel: Model = {
  revision: 0,
  apis: new Map(),
  gateways: new Map(),
  pools: new Map(),
  zones: new Map(),
  access: emptyAccess,
};

const mapNameByKind = { Api: 'apis', Gateway: 'gateways', GatewayPool: 'pools', Zone: 'zones' } as const;

/** A new model with the given entities replaced or removed; the old one is untouched. */
export function applyEntities(model: Model, revision: number, entities: readonly EntityState[], access: readonly AccessEntityState[] = []): Model {
  // Only the maps of the kinds that change are copied; the others are shared (never mutated).
  const touched = new Set(entities.map((e) => mapNameByKind[e.kind]));
  const copy = <V>(name: string, map: ReadonlyMap<string, V>): ReadonlyMap<string, V> => (touched.has(name as never) ? new Map(map) : map);
  const next = {
    revision,
    apis: copy('apis', model.apis),
    gateways: copy('gateways', model.gateways),
    pools: copy('pools', model.pools),
    zones: copy('zones', model.zones),
    access: applyAccessEntities(model.access, access),
  };
  for (const entity of entities) {
    const map = next[mapNameByKind[entity.kind]] as Map<string, StoredRecord>;
    const key = recordKey(entity.org, entity.name);
    if (entity.record === undefined) map.delete(key);
    else map.set(key, entity.record);
  }
  return next;
}

export function modelFromRecords(revision: number, records: readonly StoredRecord[], access: AccessModel = emptyAccess): Model {
  const model = applyEntities(emptyModel, revision, records.map((r) => ({ kind: r.kind, org: r.org, name: r.name, record: r })));
  return { ...model, access };
}

/** A new access model with the entities replaced or removed; the old one is untouched. */
function applyAccessEntities(model: AccessModel, entities: readonly AccessEntityState[]): AccessModel {
  if (entities.length === 0) return model;
  const next = { orgs: new Map(model.orgs), roles: new Map(model.roles), tokens: new Map(model.tokens) };
  for (const entity of entities) {
    const map = next[`${entity.kind}s`] as Map<string, unknown>;
    if (entity.record === undefined) map.delete(entity.key);
    else map.set(entity.key, entity.record);
  }
  return next;
}
