import { CausewayError } from '@causeway/shared';
import { revocationRecord, type RevocationRecord } from './access-tables.ts';
import type { Sql, Tx } from './database.ts';
import { mutate } from './mutate.ts';
import type { Scope } from './resource-store.ts';
import { SHARED_RUNTIMES_AUDIT_ORG } from './runtime-tokens.ts';

/** Whom a node id belongs to: the org of its newest certificate (or row), null for a shared runtime. */
async function tenancyOf(tx: Tx, nodeId: string): Promise<{ org: string | null } | undefined> {
  const [row] = await tx<{ org_id: string | null }[]>`
    SELECT org_id FROM (
      SELECT org_id, issued_at AS at FROM runtime_certificates WHERE node_id = ${nodeId}
      UNION ALL SELECT org_id, COALESCE(connected_at, last_seen_at) AS at FROM runtimes WHERE node_id = ${nodeId}
      UNION ALL SELECT org_id, revoked_at AS at FROM runtime_revocations WHERE node_id = ${nodeId}
    ) AS known ORDER BY at DESC LIMIT 1`;
  return row === undefined ? undefined : { org: row.org_id };
}

/**
 * Revocations of the runtimes of one org, and (for a system administrator) of shared ones.
 * A revocation is a change of the revision log: every replica closes the runtime's stream
 * and refuses it (stream, renewal, joining again under its node id) once it reads it.
 */
export class RuntimeRevocationStore {
  private readonly sql: Sql;
  private readonly scope: Scope;
  private readonly shared: boolean;

  /** `shared`: the handle may act on shared runtimes and those of any org (system administrators). */
  constructor(sql: Sql, scope: Scope, shared: boolean) {
    this.sql = sql;
    this.scope = scope;
    this.shared = shared;
  }

  /** Another org's runtime is 404; a shared one, for an org's token, 403. */
  private async authorize(tx: Tx, nodeId: string): Promise<string | null> {
    const tenancy = await tenancyOf(tx, nodeId);
    if (tenancy === undefined || (!this.shared && tenancy.org !== null && tenancy.org !== this.scope.org)) {
      throw new CausewayError('not_found', `runtime "${nodeId}" is not known`);
    }
    if (tenancy.org === null && !this.shared) {
      throw new CausewayError('permission_denied', `runtime "${nodeId}" is a shared runtime (it serves every org): only system administrators may revoke or readmit it`);
    }
    return tenancy.org;
  }

  /** Denies the node id and the serials of its certificates that have not expired. */
  async revoke(nodeId: string): Promise<{ record: RevocationRecord; created: boolean }> {
    const { result } = await mutate(this.sql, this.scope.audit, async (m) => {
      const org = await this.authorize(m.tx, nodeId);
      const [before] = await m.tx<{ node_id: string }[]>`SELECT node_id FROM runtime_revocations WHERE node_id = ${nodeId} FOR UPDATE`;
      const [row] = await m.tx<Parameters<typeof revocationRecord>[0][]>`
        INSERT INTO runtime_revocations (node_id, org_id, serials, revoked_by, revision)
        SELECT ${nodeId}, ${org}, COALESCE(array_agg(DISTINCT serial), '{}'), ${this.scope.audit.actor.name}, ${m.revision}
        FROM (SELECT serial FROM runtime_certificates WHERE node_id = ${nodeId} AND not_after > now()
              UNION SELECT certificate_serial FROM runtimes WHERE node_id = ${nodeId} AND certificate_serial IS NOT NULL) AS s
        ON CONFLICT (node_id) DO UPDATE SET serials = ARRAY(SELECT DISTINCT unnest(runtime_revocations.serials || excluded.serials)),
          revision = excluded.revision
        RETURNING *`;
      if (row === undefined) throw new Error('the revocation row was not written');
      m.record({ kind: 'revocation', org: org ?? '', name: nodeId, op: 'upsert' });
      const changes = [{ field: 'status.revoked', before: before !== undefined, after: true }, { field: 'status.serials', before: null, after: row.serials }];
      m.audit({ org: org ?? SHARED_RUNTIMES_AUDIT_ORG, action: 'runtime.revoke', resourceKind: 'runtime', resourceName: nodeId, changes });
      return { record: revocationRecord(row), created: before === undefined };
    });
    return result;
  }

  /** Lets a revoked node id in again: it may join with a token; its old certificates stay valid until they expire. */
  async readmit(nodeId: string): Promise<number> {
    const { revision } = await mutate(this.sql, this.scope.audit, async (m) => {
      const org = await this.authorize(m.tx, nodeId);
      const [row] = await m.tx<{ serials: string[] }[]>`DELETE FROM runtime_revocations WHERE node_id = ${nodeId} RETURNING serials`;
      if (row === undefined) throw new CausewayError('not_found', `runtime "${nodeId}" is not revoked`);
      m.record({ kind: 'revocation', org: org ?? '', name: nodeId, op: 'delete' });
      m.audit({ org: org ?? SHARED_RUNTIMES_AUDIT_ORG, action: 'runtime.readmit', resourceKind: 'runtime', resourceName: nodeId, changes: [{ field: 'status.revoked', before: true, after: false }] });
    });
    return revision;
  }
}
