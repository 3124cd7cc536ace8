import type { Sql } from './database.ts';
import type { ApiSpec, Labels } from './records.ts';

/** One immutable revision of an API (written with every change of it, see tables.ts). */
export interface ApiRevision {
  readonly revision: number;
  readonly labels: Labels;
  readonly spec: ApiSpec;
  readonly createdAt: Date;
}

/** An API keeps this many of its newest revisions; a write deletes the older ones (the audit log keeps what changed). */
export const API_REVISIONS_KEPT = 100;

/** Every revision of an API still kept, newest first (none: the API never existed). */
export async function listApiRevisions(sql: Sql, org: string, name: string): Promise<ApiRevision[]> {
  const rows = await sql<{ revision: number; labels: Labels; spec: ApiSpec; created_at: Date }[]>`
    SELECT revision, labels, spec, created_at FROM api_revisions WHERE org_id = ${org} AND name = ${name} ORDER BY revision DESC`;
  return rows.map((r) => ({ revision: r.revision, labels: r.labels, spec: r.spec, createdAt: r.created_at }));
}

export async function getApiRevision(sql: Sql, org: string, name: string, revision: number): Promise<Pick<ApiRevision, 'labels' | 'spec'> | undefined> {
  const [row] = await sql<{ labels: Labels; spec: ApiSpec }[]>`
    SELECT labels, spec FROM api_revisions WHERE org_id = ${org} AND name = ${name} AND revision = ${revision}`;
  return row;
}
