import type { Sql } from './database.ts';

type RuntimeDeploymentState = 'acked' | 'nacked' | 'pending';

interface RuntimeDeployment {
  readonly nodeId: string;
  readonly zone: string;
  readonly controller: string | null;
  readonly state: RuntimeDeploymentState;
  readonly error?: string;
}

export interface DeploymentStatus {
  readonly api: string;
  readonly revision: number;
  readonly summary: { readonly total: number; readonly acked: number; readonly nacked: number; readonly pending: number };
  readonly runtimes: readonly RuntimeDeployment[];
}

/** A runtime counts as targeted while connected and heard from within this long. */
const LIVE_WINDOW = '30 seconds';

/**
 * For one API revision, what each targeted runtime did with it: a rejection recorded for
 * exactly that version is `nacked`; otherwise every API response up to
 * `api_acked_revision` was answered, so a revision at or below it is `acked`. A runtime is
 * targeted when it serves the API's org (its own or a shared runtime) and its labels
 * include every label of the API's `runtimeSelector` (as the API is stored now).
 */
export async function deploymentStatus(sql: Sql, org: string, api: string, revision: number): Promise<DeploymentStatus> {
  const resource = `${org}/${api}`;
  const rows = await sql<{ node_id: string; zone: string; controller_id: string | null; api_acked_revision: number; nack_version: number | null; error: string | null }[]>`
    SELECT r.node_id, r.zone, r.controller_id, r.api_acked_revision, n.version AS nack_version, n.error
    FROM runtimes r
    LEFT JOIN runtime_nacks n ON n.node_id = r.node_id AND n.resource_type = 'api' AND n.resource_name = ${resource}
    LEFT JOIN apis a ON a.org_id = ${org} AND a.name = ${api}
    WHERE r.connected AND r.last_seen_at > now() - ${LIVE_WINDOW}::interval
      AND (r.org_id IS NULL OR r.org_id = ${org})
      AND r.labels @> COALESCE(a.spec->'runtimeSelector'->'matchLabels', '{}'::jsonb)
    ORDER BY r.node_id`;
  const runtimes = rows.map((row): RuntimeDeployment => {
    const base = { nodeId: row.node_id, zone: row.zone, controller: row.controller_id };
    if (row.nack_version === revision) return { ...base, state: 'nacked', error: row.error ?? '' };
    return { ...base, state: row.api_acked_revision >= revision ? 'acked' : 'pending' };
  });
  const count = (state: RuntimeDeploymentState): number => runtimes.filter((r) => r.state === state).length;
  return {
    api,
    revision,
    summary: { total: runtimes.length, acked: count('acked'), nacked: count('nacked'), pending: count('pending') },
    runtimes,
  };
}
