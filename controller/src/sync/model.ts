import { emptyAccess, type AccessEntityState, type AccessModel } from '../store/access-tables.ts';
import type { ApiRecord, ConsumerRecord, EntityState, GatewayRecord, PoolRecord, StoredRecord, ZoneRecord } from '../store/records.ts';
import { recordKey } from '../store/records.ts';

/** The controller's in-memory copy of everything in the store, as of `revision`. */
export interface Model {
  readonly revision: number;
  readonly apis: ReadonlyMap<string, ApiRecord>;
  readonly gateways: ReadonlyMap<string, GatewayRecord>;
  readonly pools: ReadonlyMap<string, PoolRecord>;
  readonly zones: ReadonlyMap<string, ZoneRecord>;
  readonly consumers: ReadonlyMap<string, ConsumerRecord>;
  /**
   * Per org, the revision that last changed one of its consumers or their keys (a delete
   * too): part of the version of its APIs with an apiKey policy, which carry the keys.
   */
  readonly consumerRevisions: ReadonlyMap<string, number>;
  /** Orgs, roles, live tokens and revoked runtimes: what the admin API and the config stream decide access by. */
  readonly access: AccessModel;
  /** The deployment's hop marker key (config_state.hop_key), sent in every zone. */
  readonly hopKey: Uint8Array;
}

export const emptyModel: Model = {
  revision: 0,
  apis: new Map(),
  gateways: new Map(),
  pools: new Map(),
  zones: new Map(),
  consumers: new Map(),
  consumerRevisions: new Map(),
  access: emptyAccess,
  hopKey: new Uint8Array(),
};

const mapNameByKind = { Api: 'apis', Consumer: 'consumers', Gateway: 'gateways', GatewayPool: 'pools', Zone: 'zones' } as const;

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
    consumers: copy('consumers', model.consumers),
    consumerRevisions: copy('consumers', model.consumerRevisions),
    access: applyAccessEntities(model.access, access),
    hopKey: model.hopKey,
  };
  for (const entity of entities) {
    if (entity.kind === 'Consumer') (next.consumerRevisions as Map<string, number>).set(entity.org, revision);
    const map = next[mapNameByKind[entity.kind]] as Map<string, StoredRecord>;
    const key = recordKey(entity.org, entity.name);
    if (entity.record === undefined) map.delete(key);
    else map.set(key, entity.record);
  }
  return next;
}

export function modelFromRecords(revision: number, records: readonly StoredRecord[], access: AccessModel = emptyAccess, hopKey: Uint8Array = emptyModel.hopKey): Model {
  const model = applyEntities(emptyModel, revision, records.map((r) => ({ kind: r.kind, org: r.org, name: r.name, record: r })));
  return { ...model, access, hopKey };
}

/** A new access model with the entities replaced or removed; the old one is untouched. */
function applyAccessEntities(model: AccessModel, entities: readonly AccessEntityState[]): AccessModel {
  if (entities.length === 0) return model;
  // Only the maps of the kinds that change are copied: a consumer can tell a change by identity.
  const touched = new Set(entities.map((e) => e.kind));
  const copy = <V>(kind: AccessEntityState['kind'], map: ReadonlyMap<string, V>): ReadonlyMap<string, V> => (touched.has(kind) ? new Map(map) : map);
  const next = { orgs: copy('org', model.orgs), roles: copy('role', model.roles), tokens: copy('token', model.tokens), revocations: copy('revocation', model.revocations) };
  for (const entity of entities) {
    const map = next[`${entity.kind}s`] as Map<string, unknown>;
    if (entity.record === undefined) map.delete(entity.key);
    else map.set(entity.key, entity.record);
  }
  return next;
}
