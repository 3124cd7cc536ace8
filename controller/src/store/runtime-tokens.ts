import { CausewayError } from '@causeway/shared';
import { fieldChanges } from '../access/field-changes.ts';
import { joinTokens, newToken } from '../access/token-secrets.ts';
import type { Sql } from './database.ts';
import { mutate } from './mutate.ts';
import type { Labels } from './records.ts';
import type { Scope } from './resource-store.ts';

/** A join token: who a runtime that presents it becomes (org, zone, labels). */
export interface RuntimeTokenRecord {
  readonly id: string;
  /** Null: a shared runtime, serving every org. */
  readonly org: string | null;
  readonly zone: string;
  readonly labels: Labels;
  readonly digest: Buffer;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly revision: number;
}

export interface NewRuntimeToken {
  readonly org: string | null;
  readonly zone: string;
  readonly labels: Labels;
  readonly expiresInSeconds: number;
}

interface Row {
  id: string;
  org_id: string | null;
  zone: string;
  labels: Record<string, string>;
  digest: Buffer;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revision: number;
}

const recordOf = (r: Row): RuntimeTokenRecord => ({
  id: r.id,
  org: r.org_id,
  zone: r.zone,
  labels: r.labels,
  digest: r.digest,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  revision: r.revision,
});

/** Audit events of shared runtimes (no org) are kept with the org system administrators act in by default. */
export const SHARED_RUNTIMES_AUDIT_ORG = 'default';

/**
 * Join tokens of one org, and (for a system administrator) the shared ones. Every change
 * is one audited mutation; a deleted token keeps its row, revoked.
 */
export class RuntimeTokenStore {
  private readonly sql: Sql;
  private readonly scope: Scope;
  private readonly shared: boolean;

  /** `shared`: the handle also sees the tokens of shared runtimes (system administrators only). */
  constructor(sql: Sql, scope: Scope, shared: boolean) {
    this.sql = sql;
    this.scope = scope;
    this.shared = shared;
  }

  async list(): Promise<RuntimeTokenRecord[]> {
    const rows = await this.sql<Row[]>`
      SELECT * FROM runtime_tokens WHERE org_id = ${this.scope.org} ${this.shared ? this.sql`OR org_id IS NULL` : this.sql``}
      ORDER BY created_at, id`;
    return rows.map(recordOf);
  }

  /** Null org: a shared runtime's token, for handles that see them. */
  async create(spec: NewRuntimeToken): Promise<{ record: RuntimeTokenRecord; secret: string }> {
    if (spec.org !== null && spec.org !== this.scope.org) throw new Error('a runtime token store creates tokens of its own org only');
    if (spec.org === null && !this.shared) throw new CausewayError('permission_denied', 'only system administrators may create tokens for shared runtimes (org null)');
    const made = newToken(joinTokens);
    const expires = new Date(Date.now() + spec.expiresInSeconds * 1000);
    const { audit } = this.scope;
    const { result } = await mutate(this.sql, audit, async (m) => {
      const [row] = await m.tx<Row[]>`
        INSERT INTO runtime_tokens (id, org_id, zone, labels, digest, created_by, expires_at, revision)
        VALUES (${made.id}, ${spec.org}, ${spec.zone}, ${m.tx.json(spec.labels)}, ${made.digest}, ${audit.actor.name}, ${expires}, ${m.revision})
        RETURNING *`;
      if (row === undefined) throw new Error('the runtime token row was not written');
      const shown = { metadata: { id: made.id }, spec: { org: spec.org, zone: spec.zone, labels: spec.labels, expiresAt: expires.toISOString() } };
      m.audit({ org: spec.org ?? SHARED_RUNTIMES_AUDIT_ORG, action: 'runtime-token.create', resourceKind: 'runtime-token', resourceName: made.id, changes: fieldChanges(undefined, shown) });
      return recordOf(row);
    });
    return { record: result, secret: made.secret };
  }

  /** Stops new certificates for the token (runtimes that joined with it keep theirs). */
  async delete(id: string): Promise<RuntimeTokenRecord> {
    const { org } = this.scope;
    const { result } = await mutate(this.sql, this.scope.audit, async (m) => {
      const [row] = await m.tx<Row[]>`
        UPDATE runtime_tokens SET revoked_at = now(), revision = ${m.revision}
        WHERE id = ${id} AND revoked_at IS NULL AND (org_id = ${org} ${this.shared ? m.tx`OR org_id IS NULL` : m.tx``})
        RETURNING *`;
      if (row === undefined) throw new CausewayError('not_found', `runtime token "${id}" does not exist or is already deleted`);
      const changes = [{ field: 'status.revokedAt', before: null, after: row.revoked_at?.toISOString() ?? null }];
      m.audit({ org: row.org_id ?? SHARED_RUNTIMES_AUDIT_ORG, action: 'runtime-token.delete', resourceKind: 'runtime-token', resourceName: id, changes });
      return recordOf(row);
    });
    return result;
  }
}

/** A join token by id, whatever its org or state (the issuer checks it). */
export async function findRuntimeToken(sql: Sql, id: string): Promise<RuntimeTokenRecord | undefined> {
  const [row] = await sql<Row[]>`SELECT * FROM runtime_tokens WHERE id = ${id}`;
  return row === undefined ? undefined : recordOf(row);
}
