import { CausewayError } from '@causeway/shared';
import { fieldChanges } from '../access/field-changes.ts';
import type { Permission } from '../access/permissions.ts';
import { newToken } from '../access/token-secrets.ts';
import { orgRecord, roleRecord, tokenRecord, type OrgRecord, type RoleRecord, type TokenRecord } from './access-tables.ts';
import { pgCode, pgCodes, type Sql } from './database.ts';
import { mutate } from './mutate.ts';
import type { Scope } from './resource-store.ts';

export interface CreatedToken {
  readonly record: TokenRecord;
  /** Shown once; only its digest is stored. */
  readonly secret: string;
}

export interface NewTokenSpec {
  readonly name: string;
  /** A role of the org, or null for a gateway's heartbeat token. */
  readonly role: string | null;
  readonly gateway: string | null;
  readonly expiresInSeconds: number | null;
}

function listed(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${n} ${what}`)
    .join(', ');
}

/**
 * Where orgs' own creation and deletion are recorded: the org of the bootstrap token, whose
 * log outlives the org (an event kept in a deleted org's log could not be read).
 */
const SYSTEM_ORG = 'default';

/** Tokens and roles of one org, and (for system administrators) the orgs: every change one audited mutation. */
export class AccessStore {
  private readonly sql: Sql;
  private readonly scope: Scope;

  constructor(sql: Sql, scope: Scope) {
    this.sql = sql;
    this.scope = scope;
  }

  async listOrgs(): Promise<OrgRecord[]> {
    const rows = await this.sql<Parameters<typeof orgRecord>[0][]>`SELECT id, revision, created_by, created_at FROM orgs ORDER BY id`;
    return rows.map(orgRecord);
  }

  async createOrg(name: string): Promise<OrgRecord> {
    const { result } = await mutate(this.sql, this.scope.audit, async (m) => {
      const [row] = await m.tx<Parameters<typeof orgRecord>[0][]>`
        INSERT INTO orgs (id, name, revision, created_by) VALUES (${name}, ${name}, ${m.revision}, ${this.scope.audit.actor.name})
        ON CONFLICT (id) DO NOTHING RETURNING id, revision, created_by, created_at`;
      if (row === undefined) throw new CausewayError('already_exists', `an org named "${name}" already exists`);
      m.record({ kind: 'org', org: name, name, op: 'upsert' });
      m.audit({ org: SYSTEM_ORG, action: 'org.create', resourceKind: 'org', resourceName: name, changes: fieldChanges(undefined, { metadata: { name } }) });
      return orgRecord(row);
    });
    return result;
  }

  /** Refused (409, naming what) while the org owns anything: gateways, pools, APIs, live tokens, roles. */
  async deleteOrg(name: string): Promise<number> {
    if (name === 'default') throw new CausewayError('conflict', 'the org "default" cannot be deleted: the bootstrap token acts in it');
    const { revision } = await mutate(this.sql, this.scope.audit, async (m) => {
      const [owned] = await m.tx<{ exists: boolean; gateways: number; pools: number; apis: number; tokens: number; roles: number }[]>`
        SELECT EXISTS (SELECT 1 FROM orgs WHERE id = ${name} FOR UPDATE) AS exists,
               (SELECT count(*)::int FROM gateways WHERE org_id = ${name}) AS gateways,
               (SELECT count(*)::int FROM gateway_pools WHERE org_id = ${name}) AS pools,
               (SELECT count(*)::int FROM apis WHERE org_id = ${name}) AS apis,
               (SELECT count(*)::int FROM tokens WHERE org_id = ${name} AND revoked_at IS NULL) AS tokens,
               (SELECT count(*)::int FROM roles WHERE org_id = ${name}) AS roles`;
      if (owned?.exists !== true) throw new CausewayError('not_found', `org "${name}" does not exist`);
      const what = listed({ gateways: owned.gateways, 'gateway pools': owned.pools, APIs: owned.apis, tokens: owned.tokens, roles: owned.roles });
      if (what !== '') throw new CausewayError('conflict', `org "${name}" still owns ${what}; delete or revoke them first`);
      // Revoked tokens keep their rows (the audit log names them); they go with the org.
      await m.tx`DELETE FROM tokens WHERE org_id = ${name}`;
      await m.tx`DELETE FROM orgs WHERE id = ${name}`;
      m.record({ kind: 'org', org: name, name, op: 'delete' });
      m.audit({ org: SYSTEM_ORG, action: 'org.delete', resourceKind: 'org', resourceName: name, changes: fieldChanges({ metadata: { name } }, undefined) });
    });
    return revision;
  }

  async listTokens(): Promise<TokenRecord[]> {
    const rows = await this.sql<Parameters<typeof tokenRecord>[0][]>`
      SELECT * FROM tokens WHERE org_id = ${this.scope.org} ORDER BY created_at, id`;
    return rows.map(tokenRecord);
  }

  async createToken(spec: NewTokenSpec): Promise<CreatedToken> {
    const { org, audit } = this.scope;
    const made = newToken();
    const expires = spec.expiresInSeconds === null ? null : new Date(Date.now() + spec.expiresInSeconds * 1000);
    try {
      const { result } = await mutate(this.sql, audit, async (m) => {
        const [row] = await m.tx<Parameters<typeof tokenRecord>[0][]>`
          INSERT INTO tokens (id, org_id, name, role, gateway, digest, created_by, expires_at, revision)
          VALUES (${made.id}, ${org}, ${spec.name}, ${spec.role}, ${spec.gateway}, ${made.digest}, ${audit.actor.name}, ${expires}, ${m.revision})
          RETURNING *`;
        if (row === undefined) throw new Error('the token row was not written');
        m.record({ kind: 'token', org, name: made.id, op: 'upsert' });
        const shown = { metadata: { name: spec.name, id: made.id }, spec: { role: spec.role, gateway: spec.gateway, expiresAt: expires?.toISOString() ?? null } };
        m.audit({ org, action: 'token.create', resourceKind: 'token', resourceName: spec.name, changes: fieldChanges(undefined, shown) });
        return tokenRecord(row);
      });
      return { record: result, secret: made.secret };
    } catch (error) {
      if (pgCode(error) === pgCodes.uniqueViolation) throw new CausewayError('already_exists', `a token named "${spec.name}" already exists; revoke it first`);
      throw error;
    }
  }

  async revokeToken(id: string): Promise<TokenRecord> {
    const { org } = this.scope;
    const { result } = await mutate(this.sql, this.scope.audit, async (m) => {
      const [row] = await m.tx<Parameters<typeof tokenRecord>[0][]>`
        UPDATE tokens SET revoked_at = now(), revision = ${m.revision}
        WHERE org_id = ${org} AND id = ${id} AND revoked_at IS NULL RETURNING *`;
      if (row === undefined) throw new CausewayError('not_found', `token "${id}" does not exist or is already revoked`);
      m.record({ kind: 'token', org, name: id, op: 'delete' });
      m.audit({ org, action: 'token.revoke', resourceKind: 'token', resourceName: row.name, changes: [{ field: 'status.revokedAt', before: null, after: row.revoked_at?.toISOString() ?? null }] });
      return tokenRecord(row);
    });
    return result;
  }

  async listRoles(): Promise<RoleRecord[]> {
    const rows = await this.sql<Parameters<typeof roleRecord>[0][]>`SELECT * FROM roles WHERE org_id = ${this.scope.org} ORDER BY name`;
    return rows.map(roleRecord);
  }

  async putRole(name: string, permissions: readonly Permission[]): Promise<{ record: RoleRecord; created: boolean }> {
    const { org } = this.scope;
    const { result } = await mutate(this.sql, this.scope.audit, async (m) => {
      const [before] = await m.tx<{ permissions: Permission[] }[]>`SELECT permissions FROM roles WHERE org_id = ${org} AND name = ${name} FOR UPDATE`;
      const [row] = await m.tx<Parameters<typeof roleRecord>[0][]>`
        INSERT INTO roles (org_id, name, permissions, revision) VALUES (${org}, ${name}, ${m.tx.json(permissions as never)}, ${m.revision})
        ON CONFLICT (org_id, name) DO UPDATE SET permissions = excluded.permissions, revision = excluded.revision, updated_at = now()
        RETURNING *`;
      if (row === undefined) throw new Error('the role row was not written');
      m.record({ kind: 'role', org, name, op: 'upsert' });
      const changes = fieldChanges(before === undefined ? undefined : { spec: { permissions: before.permissions } }, { spec: { permissions } });
      m.audit({ org, action: before === undefined ? 'role.create' : 'role.update', resourceKind: 'role', resourceName: name, changes });
      return { record: roleRecord(row), created: before === undefined };
    });
    return result;
  }

  /** Refused (409) while live tokens act with the role. */
  async deleteRole(name: string): Promise<number> {
    const { org } = this.scope;
    const { revision } = await mutate(this.sql, this.scope.audit, async (m) => {
      const [before] = await m.tx<{ permissions: Permission[] }[]>`SELECT permissions FROM roles WHERE org_id = ${org} AND name = ${name} FOR UPDATE`;
      if (before === undefined) throw new CausewayError('not_found', `role "${name}" does not exist`);
      const users = await m.tx<{ name: string }[]>`SELECT name FROM tokens WHERE org_id = ${org} AND role = ${name} AND revoked_at IS NULL ORDER BY name`;
      if (users.length > 0) {
        throw new CausewayError('conflict', `role "${name}" is used by tokens ${users.map((u) => `"${u.name}"`).join(', ')}; revoke them first`);
      }
      await m.tx`DELETE FROM roles WHERE org_id = ${org} AND name = ${name}`;
      m.record({ kind: 'role', org, name, op: 'delete' });
      m.audit({ org, action: 'role.delete', resourceKind: 'role', resourceName: name, changes: fieldChanges({ spec: { permissions: before.permissions } }, undefined) });
    });
    return revision;
  }
}

/** Last-use times of tokens, written in one statement a minute rather than on every request. */
export async function recordTokenUses(sql: Sql, uses: ReadonlyMap<string, Date>): Promise<void> {
  if (uses.size === 0) return;
  const ids = [...uses.keys()];
  await sql`
    UPDATE tokens t SET last_used_at = u.at
    FROM unnest(${ids}::text[], ${ids.map((id) => uses.get(id)?.toISOString() ?? null)}::timestamptz[]) AS u(id, at)
    WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)`;
}
