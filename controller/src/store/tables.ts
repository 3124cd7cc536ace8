import type { Sql, Tx } from './database.ts';
import { API_REVISIONS_KEPT } from './api-revisions.ts';
import type { Mutation } from './mutate.ts';
import type { ApiSpec, ConsumerRecord, ConsumerSpec, GatewayRecord, GatewaySpec, Kind, Labels, PoolSpec, SpecByKind, StoredRecord, ZoneSpec } from './records.ts';

type Db = Sql | Tx;

export interface EntityKey {
  readonly org: string;
  readonly name: string;
}

/** A page of a list by name: the names after `after` (every one when undefined), at most `limit` (all when undefined). */
export interface NamePage {
  readonly after?: string | undefined;
  readonly limit?: number | undefined;
}

/** `AND <column> > after`, when the page starts after a name. */
function startOf(db: Db, page: NamePage | undefined, column: string) {
  return page?.after === undefined ? db`` : db`AND ${db(column)} > ${page.after}`;
}

function limitOf(db: Db, page: NamePage | undefined) {
  return page?.limit === undefined ? db`` : db`LIMIT ${page.limit}`;
}

/** How one kind of resource is kept in its table(s). */
export interface Table<K extends Kind, R extends StoredRecord<K> = StoredRecord<K>> {
  get(db: Db, org: string, name: string, forUpdate?: boolean): Promise<R | undefined>;
  /** All of one org by name, or one page of them (all orgs when `org` is undefined, for the in-memory model). */
  list(db: Db, org?: string, page?: NamePage): Promise<R[]>;
  /** Those of `keys` that exist, in one query whatever the count (an org and a name each; zones ignore the org). */
  getMany(db: Db, keys: readonly EntityKey[]): Promise<R[]>;
  write(m: Mutation, org: string, name: string, labels: Labels, spec: SpecByKind[K]): Promise<void>;
  remove(db: Db, org: string, name: string): Promise<void>;
}

interface Row {
  org_id: string;
  name: string;
  labels: Labels;
  spec: unknown;
  revision: number;
  created_at: Date;
  updated_at: Date;
}

function toRecord<K extends Kind>(kind: K, row: Row, spec: SpecByKind[K]): StoredRecord<K> {
  return {
    kind,
    org: row.org_id,
    name: row.name,
    labels: row.labels,
    spec,
    revision: row.revision,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

interface GatewayRow extends Row {
  heartbeat_expired: boolean;
}

function gatewayRecord(row: GatewayRow): GatewayRecord {
  return { ...toRecord('Gateway', row, row.spec as GatewaySpec), heartbeatExpired: row.heartbeat_expired };
}

const gateways: Table<'Gateway', GatewayRecord> & Table<'Gateway'> = {
  async get(db, org, name, forUpdate = false) {
    const rows = forUpdate
      ? await db<GatewayRow[]>`SELECT * FROM gateways WHERE org_id = ${org} AND name = ${name} FOR UPDATE`
      : await db<GatewayRow[]>`SELECT * FROM gateways WHERE org_id = ${org} AND name = ${name}`;
    const row = rows[0];
    return row === undefined ? undefined : gatewayRecord(row);
  },
  async list(db, org, page) {
    const rows = org === undefined
      ? await db<GatewayRow[]>`SELECT * FROM gateways ORDER BY org_id, name`
      : await db<GatewayRow[]>`SELECT * FROM gateways WHERE org_id = ${org} ${startOf(db, page, 'name')} ORDER BY name ${limitOf(db, page)}`;
    return rows.map(gatewayRecord);
  },
  async getMany(db, keys) {
    const rows = await db<GatewayRow[]>`
      SELECT g.* FROM gateways g
      JOIN unnest(${keys.map((k) => k.org)}::text[], ${keys.map((k) => k.name)}::text[]) AS k(org_id, name) ON g.org_id = k.org_id AND g.name = k.name`;
    return rows.map(gatewayRecord);
  },
  async write(m, org, name, labels, spec) {
    await m.tx`
      INSERT INTO gateways (org_id, name, labels, spec, revision)
      VALUES (${org}, ${name}, ${m.tx.json(labels)}, ${m.tx.json(spec as never)}, ${m.revision})
      ON CONFLICT (org_id, name) DO UPDATE
      SET labels = excluded.labels, spec = excluded.spec, revision = excluded.revision, updated_at = now()`;
  },
  async remove(db, org, name) {
    await db`DELETE FROM gateways WHERE org_id = ${org} AND name = ${name}`;
  },
};

interface PoolRow extends Row {
  description: string;
  members: string[];
}

function poolRecord(row: PoolRow): StoredRecord<'GatewayPool'> {
  return toRecord('GatewayPool', row, { members: row.members, description: row.description } satisfies PoolSpec);
}

const pools: Table<'GatewayPool'> = {
  async get(db, org, name, forUpdate = false) {
    const lock = forUpdate ? db`FOR UPDATE OF p` : db``;
    const rows = await db<PoolRow[]>`
      SELECT p.*, COALESCE((SELECT array_agg(gateway_name ORDER BY gateway_name) FROM gateway_pool_members m
                            WHERE m.org_id = p.org_id AND m.pool_name = p.name), '{}') AS members
      FROM gateway_pools p WHERE p.org_id = ${org} AND p.name = ${name} ${lock}`;
    const row = rows[0];
    return row === undefined ? undefined : poolRecord(row);
  },
  async list(db, org, page) {
    const where = org === undefined ? db`` : db`WHERE p.org_id = ${org} ${startOf(db, page, 'p.name')}`;
    const rows = await db<PoolRow[]>`
      SELECT p.*, COALESCE((SELECT array_agg(gateway_name ORDER BY gateway_name) FROM gateway_pool_members m
                            WHERE m.org_id = p.org_id AND m.pool_name = p.name), '{}') AS members
      FROM gateway_pools p ${where} ORDER BY p.org_id, p.name ${limitOf(db, page)}`;
    return rows.map(poolRecord);
  },
  async getMany(db, keys) {
    const rows = await db<PoolRow[]>`
      SELECT p.*, COALESCE((SELECT array_agg(gateway_name ORDER BY gateway_name) FROM gateway_pool_members m
                            WHERE m.org_id = p.org_id AND m.pool_name = p.name), '{}') AS members
      FROM gateway_pools p
      JOIN unnest(${keys.map((k) => k.org)}::text[], ${keys.map((k) => k.name)}::text[]) AS k(org_id, name) ON p.org_id = k.org_id AND p.name = k.name`;
    return rows.map(poolRecord);
  },
  async write(m, org, name, labels, spec) {
    await m.tx`
      INSERT INTO gateway_pools (org_id, name, labels, description, revision)
      VALUES (${org}, ${name}, ${m.tx.json(labels)}, ${spec.description}, ${m.revision})
      ON CONFLICT (org_id, name) DO UPDATE
      SET labels = excluded.labels, description = excluded.description, revision = excluded.revision, updated_at = now()`;
    await m.tx`DELETE FROM gateway_pool_members WHERE org_id = ${org} AND pool_name = ${name}
               AND NOT (gateway_name = ANY(${spec.members as string[]}))`;
    if (spec.members.length > 0) {
      const rows = spec.members.map((gateway) => ({ org_id: org, pool_name: name, gateway_name: gateway }));
      await m.tx`INSERT INTO gateway_pool_members ${m.tx(rows, 'org_id', 'pool_name', 'gateway_name')} ON CONFLICT DO NOTHING`;
    }
  },
  async remove(db, org, name) {
    await db`DELETE FROM gateway_pools WHERE org_id = ${org} AND name = ${name}`;
  },
};

/** Zones stored before zones had issuers read as having none. */
function zoneSpecOf(row: Row): ZoneSpec {
  const spec = row.spec as Omit<ZoneSpec, 'issuers'> & Partial<Pick<ZoneSpec, 'issuers'>>;
  return spec.issuers === undefined ? { ...spec, issuers: [] } : (spec as ZoneSpec);
}

const zones: Table<'Zone'> = {
  async get(db, _org, name, forUpdate = false) {
    const rows = forUpdate
      ? await db<Row[]>`SELECT '' AS org_id, * FROM zones WHERE name = ${name} FOR UPDATE`
      : await db<Row[]>`SELECT '' AS org_id, * FROM zones WHERE name = ${name}`;
    const row = rows[0];
    return row === undefined ? undefined : toRecord('Zone', row, zoneSpecOf(row));
  },
  async list(db, _org, page) {
    const rows = await db<Row[]>`SELECT '' AS org_id, * FROM zones WHERE true ${startOf(db, page, 'name')} ORDER BY name ${limitOf(db, page)}`;
    return rows.map((row) => toRecord('Zone', row, zoneSpecOf(row)));
  },
  async getMany(db, keys) {
    const rows = await db<Row[]>`SELECT '' AS org_id, * FROM zones WHERE name = ANY(${keys.map((k) => k.name)}::text[])`;
    return rows.map((row) => toRecord('Zone', row, zoneSpecOf(row)));
  },
  async write(m, _org, name, labels, spec) {
    await m.tx`
      INSERT INTO zones (name, labels, spec, revision)
      VALUES (${name}, ${m.tx.json(labels)}, ${m.tx.json(spec as never)}, ${m.revision})
      ON CONFLICT (name) DO UPDATE
      SET labels = excluded.labels, spec = excluded.spec, revision = excluded.revision, updated_at = now()`;
  },
  async remove(db, _org, name) {
    await db`DELETE FROM zones WHERE name = ${name}`;
  },
};

const apis: Table<'Api'> = {
  async get(db, org, name, forUpdate = false) {
    const rows = forUpdate
      ? await db<Row[]>`SELECT * FROM apis WHERE org_id = ${org} AND name = ${name} FOR UPDATE`
      : await db<Row[]>`SELECT * FROM apis WHERE org_id = ${org} AND name = ${name}`;
    const row = rows[0];
    return row === undefined ? undefined : toRecord('Api', row, row.spec as ApiSpec);
  },
  async list(db, org, page) {
    const rows = org === undefined
      ? await db<Row[]>`SELECT * FROM apis ORDER BY org_id, name`
      : await db<Row[]>`SELECT * FROM apis WHERE org_id = ${org} ${startOf(db, page, 'name')} ORDER BY name ${limitOf(db, page)}`;
    return rows.map((row) => toRecord('Api', row, row.spec as ApiSpec));
  },
  async getMany(db, keys) {
    const rows = await db<Row[]>`
      SELECT a.* FROM apis a
      JOIN unnest(${keys.map((k) => k.org)}::text[], ${keys.map((k) => k.name)}::text[]) AS k(org_id, name) ON a.org_id = k.org_id AND a.name = k.name`;
    return rows.map((row) => toRecord('Api', row, row.spec as ApiSpec));
  },
  async write(m, org, name, labels, spec) {
    const gateway = 'gateway' in spec.upstream ? spec.upstream.gateway : null;
    const pool = 'pool' in spec.upstream ? spec.upstream.pool : null;
    await m.tx`
      INSERT INTO apis (org_id, name, labels, spec, revision, base_path, upstream_gateway, upstream_pool)
      VALUES (${org}, ${name}, ${m.tx.json(labels)}, ${m.tx.json(spec as never)}, ${m.revision}, ${spec.basePath}, ${gateway}, ${pool})
      ON CONFLICT (org_id, name) DO UPDATE
      SET labels = excluded.labels, spec = excluded.spec, revision = excluded.revision, base_path = excluded.base_path,
          upstream_gateway = excluded.upstream_gateway, upstream_pool = excluded.upstream_pool, updated_at = now()`;
    await m.tx`
      INSERT INTO api_revisions (org_id, name, revision, labels, spec)
      VALUES (${org}, ${name}, ${m.revision}, ${m.tx.json(labels)}, ${m.tx.json(spec as never)})`;
    // Nothing once there are fewer: the oldest kept is then NULL.
    await m.tx`
      DELETE FROM api_revisions WHERE org_id = ${org} AND name = ${name} AND revision < (
        SELECT revision FROM api_revisions WHERE org_id = ${org} AND name = ${name} ORDER BY revision DESC OFFSET ${API_REVISIONS_KEPT - 1} LIMIT 1)`;
  },
  async remove(db, org, name) {
    await db`DELETE FROM apis WHERE org_id = ${org} AND name = ${name}`;
  },
};

interface ConsumerRow extends Row {
  key_digests: Buffer[];
}

function consumerRecord(row: ConsumerRow): ConsumerRecord {
  return { ...toRecord('Consumer', row, row.spec as ConsumerSpec), keyDigests: row.key_digests.map((d) => new Uint8Array(d)) };
}

const consumers: Table<'Consumer', ConsumerRecord> & Table<'Consumer'> = {
  async get(db, org, name, forUpdate = false) {
    const lock = forUpdate ? db`FOR UPDATE OF c` : db``;
    const rows = await db<ConsumerRow[]>`
      SELECT c.*, ${liveDigests(db)} AS key_digests FROM consumers c WHERE c.org_id = ${org} AND c.name = ${name} ${lock}`;
    const row = rows[0];
    return row === undefined ? undefined : consumerRecord(row);
  },
  async list(db, org, page) {
    const where = org === undefined ? db`` : db`WHERE c.org_id = ${org} ${startOf(db, page, 'c.name')}`;
    const rows = await db<ConsumerRow[]>`SELECT c.*, ${liveDigests(db)} AS key_digests FROM consumers c ${where} ORDER BY c.org_id, c.name ${limitOf(db, page)}`;
    return rows.map(consumerRecord);
  },
  async getMany(db, keys) {
    const rows = await db<ConsumerRow[]>`
      SELECT c.*, ${liveDigests(db)} AS key_digests FROM consumers c
      JOIN unnest(${keys.map((k) => k.org)}::text[], ${keys.map((k) => k.name)}::text[]) AS k(org_id, name) ON c.org_id = k.org_id AND c.name = k.name`;
    return rows.map(consumerRecord);
  },
  async write(m, org, name, labels, spec) {
    await m.tx`
      INSERT INTO consumers (org_id, name, labels, spec, revision)
      VALUES (${org}, ${name}, ${m.tx.json(labels)}, ${m.tx.json(spec as never)}, ${m.revision})
      ON CONFLICT (org_id, name) DO UPDATE
      SET labels = excluded.labels, spec = excluded.spec, revision = excluded.revision, updated_at = now()`;
  },
  async remove(db, org, name) {
    await db`DELETE FROM consumers WHERE org_id = ${org} AND name = ${name}`;
  },
};

function liveDigests(db: Db) {
  return db`COALESCE((SELECT array_agg(k.digest ORDER BY k.id) FROM consumer_keys k
                      WHERE k.org_id = c.org_id AND k.consumer_name = c.name AND k.revoked_at IS NULL), '{}')`;
}

/** Gateway reads return a GatewayRecord (with heartbeatExpired), consumer reads a ConsumerRecord (with key digests). */
export const tables: { readonly [K in Kind]: Table<K> } = {
  Api: apis,
  Consumer: consumers,
  Gateway: gateways,
  GatewayPool: pools,
  Zone: zones,
};
