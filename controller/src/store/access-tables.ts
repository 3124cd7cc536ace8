import type { Permission } from '../access/permissions.ts';
import type { Sql, Tx } from './database.ts';

type Db = Sql | Tx;

export interface OrgRecord {
  readonly name: string;
  readonly revision: number;
  readonly createdBy: string;
  readonly createdAt: Date;
}

export interface RoleRecord {
  readonly org: string;
  readonly name: string;
  readonly permissions: readonly Permission[];
  readonly revision: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface TokenRecord {
  readonly id: string;
  readonly org: string;
  readonly name: string;
  /** The role a token acts with; null for a gateway's heartbeat token. */
  readonly role: string | null;
  /** The one gateway a heartbeat token may report for; null for a role token. */
  readonly gateway: string | null;
  readonly digest: Buffer;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
  readonly revision: number;
}

/** A runtime whose access ended (POST /v1/runtimes/{node}/revoke). */
export interface RevocationRecord {
  readonly nodeId: string;
  /** The org it served; null for a shared runtime. */
  readonly org: string | null;
  /** Its certificates' serials (normalized) when it was revoked. */
  readonly serials: readonly string[];
  readonly revokedBy: string;
  readonly revokedAt: Date;
  readonly revision: number;
}

/** Who may do what, as every replica holds it in memory (live tokens only). */
export interface AccessModel {
  readonly orgs: ReadonlyMap<string, OrgRecord>;
  /** By `org/name`. */
  readonly roles: ReadonlyMap<string, RoleRecord>;
  /** Live (not revoked) tokens, by id. */
  readonly tokens: ReadonlyMap<string, TokenRecord>;
  /** Revoked runtimes, by node id: their streams are closed and refused. */
  readonly revocations: ReadonlyMap<string, RevocationRecord>;
}

export type AccessKind = 'org' | 'role' | 'token' | 'revocation';

/** One access entity as it now is: a record, or gone (for tokens: revoked). */
export type AccessEntityState =
  | { readonly kind: 'org'; readonly key: string; readonly record: OrgRecord | undefined }
  | { readonly kind: 'role'; readonly key: string; readonly record: RoleRecord | undefined }
  | { readonly kind: 'token'; readonly key: string; readonly record: TokenRecord | undefined }
  | { readonly kind: 'revocation'; readonly key: string; readonly record: RevocationRecord | undefined };

interface OrgRow {
  id: string;
  revision: number;
  created_by: string;
  created_at: Date;
}

interface RoleRow {
  org_id: string;
  name: string;
  permissions: Permission[];
  revision: number;
  created_at: Date;
  updated_at: Date;
}

interface TokenRow {
  id: string;
  org_id: string;
  name: string;
  role: string | null;
  gateway: string | null;
  digest: Buffer;
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  revision: number;
}

interface RevocationRow {
  node_id: string;
  org_id: string | null;
  serials: string[];
  revoked_by: string;
  revoked_at: Date;
  revision: number;
}

export const revocationRecord = (r: RevocationRow): RevocationRecord => ({
  nodeId: r.node_id,
  org: r.org_id,
  serials: r.serials,
  revokedBy: r.revoked_by,
  revokedAt: r.revoked_at,
  revision: r.revision,
});

export const orgRecord = (r: OrgRow): OrgRecord => ({ name: r.id, revision: r.revision, createdBy: r.created_by, createdAt: r.created_at });

export const roleRecord = (r: RoleRow): RoleRecord => ({
  org: r.org_id,
  name: r.name,
  permissions: r.permissions,
  revision: r.revision,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const tokenRecord = (r: TokenRow): TokenRecord => ({
  id: r.id,
  org: r.org_id,
  name: r.name,
  role: r.role,
  gateway: r.gateway,
  digest: r.digest,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
  revision: r.revision,
});

function roleKey(org: string, name: string): string {
  return `${org}/${name}`;
}

/** Everything, for a full load. */
export async function loadAccess(db: Db): Promise<AccessModel> {
  const [orgs, roles, tokens, revocations] = await Promise.all([
    db<OrgRow[]>`SELECT id, revision, created_by, created_at FROM orgs`,
    db<RoleRow[]>`SELECT * FROM roles`,
    db<TokenRow[]>`SELECT * FROM tokens WHERE revoked_at IS NULL`,
    db<RevocationRow[]>`SELECT * FROM runtime_revocations`,
  ]);
  return {
    orgs: new Map(orgs.map((r) => [r.id, orgRecord(r)])),
    roles: new Map(roles.map((r) => [roleKey(r.org_id, r.name), roleRecord(r)])),
    tokens: new Map(tokens.map((r) => [r.id, tokenRecord(r)])),
    revocations: new Map(revocations.map((r) => [r.node_id, revocationRecord(r)])),
  };
}

/** The named entities as they now are: one query per kind. Keys: org name, `org/role`, token id. */
export async function readAccessEntities(db: Db, named: readonly { kind: AccessKind; org: string; name: string }[]): Promise<AccessEntityState[]> {
  const of = (kind: AccessKind) => named.filter((n) => n.kind === kind);
  const orgNames = of('org').map((n) => n.name);
  const roleOrgs = of('role').map((n) => n.org);
  const roleNames = of('role').map((n) => n.name);
  const tokenIds = of('token').map((n) => n.name);
  const nodeIds = of('revocation').map((n) => n.name);
  const [orgs, roles, tokens, revocations] = await Promise.all([
    orgNames.length === 0 ? [] : db<OrgRow[]>`SELECT id, revision, created_by, created_at FROM orgs WHERE id = ANY(${orgNames}::text[])`,
    roleNames.length === 0
      ? []
      : db<RoleRow[]>`SELECT r.* FROM roles r JOIN unnest(${roleOrgs}::text[], ${roleNames}::text[]) AS k(org_id, name) USING (org_id, name)`,
    tokenIds.length === 0 ? [] : db<TokenRow[]>`SELECT * FROM tokens WHERE id = ANY(${tokenIds}::text[]) AND revoked_at IS NULL`,
    nodeIds.length === 0 ? [] : db<RevocationRow[]>`SELECT * FROM runtime_revocations WHERE node_id = ANY(${nodeIds}::text[])`,
  ]);
  const orgMap = new Map(orgs.map((r) => [r.id, orgRecord(r)]));
  const roleMap = new Map(roles.map((r) => [roleKey(r.org_id, r.name), roleRecord(r)]));
  const tokenMap = new Map(tokens.map((r) => [r.id, tokenRecord(r)]));
  const revocationMap = new Map(revocations.map((r) => [r.node_id, revocationRecord(r)]));
  return named.map((n): AccessEntityState => {
    if (n.kind === 'org') return { kind: 'org', key: n.name, record: orgMap.get(n.name) };
    if (n.kind === 'role') return { kind: 'role', key: roleKey(n.org, n.name), record: roleMap.get(roleKey(n.org, n.name)) };
    if (n.kind === 'revocation') return { kind: 'revocation', key: n.name, record: revocationMap.get(n.name) };
    return { kind: 'token', key: n.name, record: tokenMap.get(n.name) };
  });
}

export const emptyAccess: AccessModel = { orgs: new Map(), roles: new Map(), tokens: new Map(), revocations: new Map() };
