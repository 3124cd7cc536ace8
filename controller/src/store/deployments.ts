import type { Sql } from './database.ts';
import type { Mutation } from './mutate.ts';

/** How a deployment ended; `waiting` while it has not. */
export type DeploymentState = 'waiting' | 'converged' | 'failed' | 'timed-out' | 'rolled-back';

/** An API deployment that waits for runtimes and may roll back. */
export interface Deployment {
  readonly id: number;
  readonly org: string;
  readonly api: string;
  readonly revision: number;
  /** The API revision to go back to; null when the deployment created the API. */
  readonly previousRevision: number | null;
  readonly rollbackOnFailure: boolean;
}

interface DeploymentRow {
  id: number;
  org_id: string;
  api_name: string;
  revision: number;
  previous_revision: number | null;
  rollback_on_failure: boolean;
}

function deployment(row: DeploymentRow): Deployment {
  return {
    id: row.id,
    org: row.org_id,
    api: row.api_name,
    revision: row.revision,
    previousRevision: row.previous_revision,
    rollbackOnFailure: row.rollback_on_failure,
  };
}

/** Records a deployment in the mutation that writes its API revision; its deadline is `waitMs` from now. */
export async function insertDeployment(
  m: Mutation,
  d: Omit<Deployment, 'id' | 'revision'> & { readonly waitMs: number; readonly controllerId: string },
): Promise<number> {
  const [row] = await m.tx<{ id: number }[]>`
    INSERT INTO deployments (org_id, api_name, revision, previous_revision, rollback_on_failure, deadline, controller_id)
    VALUES (${d.org}, ${d.api}, ${m.revision}, ${d.previousRevision}, ${d.rollbackOnFailure},
            now() + ${`${d.waitMs} milliseconds`}::interval, ${d.controllerId})
    RETURNING id`;
  if (row === undefined) throw new Error('deployment was not recorded');
  return row.id;
}

export async function getDeployment(sql: Sql, org: string, id: number): Promise<Deployment | undefined> {
  const [row] = await sql<DeploymentRow[]>`
    SELECT id, org_id, api_name, revision, previous_revision, rollback_on_failure FROM deployments WHERE org_id = ${org} AND id = ${id}`;
  return row === undefined ? undefined : deployment(row);
}

/** Deployments still waiting `graceMs` after their deadline: their replica stopped waiting (it died). Every org's. */
export async function abandonedDeployments(sql: Sql, graceMs: number, limit: number): Promise<Deployment[]> {
  const rows = await sql<DeploymentRow[]>`
    SELECT id, org_id, api_name, revision, previous_revision, rollback_on_failure FROM deployments
    WHERE state = 'waiting' AND deadline < now() - ${`${graceMs} milliseconds`}::interval ORDER BY id LIMIT ${limit}`;
  return rows.map(deployment);
}

/** Records how a deployment ended, unless someone finished it first. */
export async function finishDeployment(sql: Sql, d: Deployment, state: Exclude<DeploymentState, 'waiting' | 'rolled-back'>, detail: string): Promise<void> {
  await sql`UPDATE deployments SET state = ${state}, detail = ${detail}, finished_at = now() WHERE org_id = ${d.org} AND id = ${d.id} AND state = 'waiting'`;
}

/**
 * Marks a deployment rolled back by the mutation `m` (which writes the rollback). False
 * when someone finished it first: the mutation must then be undone.
 */
export async function claimRollback(m: Mutation, d: Deployment, detail: string): Promise<boolean> {
  const claimed = await m.tx`
    UPDATE deployments SET state = 'rolled-back', detail = ${detail}, rollback_revision = ${m.revision}, finished_at = now()
    WHERE org_id = ${d.org} AND id = ${d.id} AND state = 'waiting'`;
  return claimed.count === 1;
}
