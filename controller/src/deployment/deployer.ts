import { setTimeout as sleep } from 'node:timers/promises';
import { CausewayError, type Logger } from '@causeway/shared';
import type { Sql } from '../store/database.ts';
import { deploymentStatus, type DeploymentStatus } from '../store/deployment-status.ts';
import type { Mutation } from '../store/mutate.ts';
import type { ApiSpec, Labels } from '../store/records.ts';
import { notFound, type PutResult, type ResourceStore } from '../store/resource-store.ts';

export type DeploymentOutcome = 'converged' | 'failed' | 'timed-out' | 'rolled-back';

export interface DeploymentReport {
  readonly outcome: DeploymentOutcome;
  readonly status: DeploymentStatus;
  readonly detail: string;
  /** Set when the API was rolled back: the revision the rollback wrote (or deleted at). */
  readonly rollbackRevision?: number;
  readonly restoredRevision?: number | null;
}

interface DeploymentRow {
  id: number;
  org_id: string;
  api_name: string;
  revision: number;
  previous_revision: number | null;
  rollback_on_failure: boolean;
}

export interface ApiRevision {
  readonly revision: number;
  readonly labels: Labels;
  readonly spec: ApiSpec;
  readonly createdAt: Date;
}

const POLL_INTERVAL_MS = 100;

/**
 * API deployments that wait for runtimes and may roll back. The deployment is recorded in
 * the same transaction as the API change, so if this replica dies while waiting, another
 * one finishes it (and rolls back) once the deadline has passed.
 */
export class Deployer {
  private readonly sql: Sql;
  private readonly store: ResourceStore;
  private readonly controllerId: string;
  private readonly log: Logger;

  constructor(options: { sql: Sql; store: ResourceStore; controllerId: string; log: Logger }) {
    this.sql = options.sql;
    this.store = options.store;
    this.controllerId = options.controllerId;
    this.log = options.log;
  }

  async status(org: string, name: string): Promise<DeploymentStatus> {
    const api = await this.store.get('Api', org, name);
    if (api === undefined) throw notFound('Api', name);
    return deploymentStatus(this.sql, org, name, api.revision);
  }

  async revisions(org: string, name: string): Promise<ApiRevision[]> {
    const rows = await this.sql<{ revision: number; labels: Labels; spec: ApiSpec; created_at: Date }[]>`
      SELECT revision, labels, spec, created_at FROM api_revisions WHERE org_id = ${org} AND name = ${name} ORDER BY revision DESC`;
    if (rows.length === 0) throw notFound('Api', name);
    return rows.map((r) => ({ revision: r.revision, labels: r.labels, spec: r.spec, createdAt: r.created_at }));
  }

  /** Writes the spec of an earlier revision as a new revision (the previous one by default). */
  async rollback(org: string, name: string, toRevision?: number): Promise<PutResult<'Api'> & { restoredRevision: number }> {
    const current = await this.store.get('Api', org, name);
    if (current === undefined) throw notFound('Api', name);
    const history = await this.revisions(org, name);
    const target = toRevision === undefined ? history.find((r) => r.revision < current.revision) : history.find((r) => r.revision === toRevision);
    if (target === undefined) {
      throw toRevision === undefined
        ? new CausewayError('precondition_failed', `API "${name}" has no revision before ${current.revision} to roll back to`)
        : new CausewayError('not_found', `API "${name}" has no revision ${toRevision}`);
    }
    const result = await this.store.put('Api', org, name, target.labels, target.spec, { ifMatch: current.revision });
    this.log.info({ api: name, from: current.revision, to: target.revision, revision: result.record.revision }, 'API rolled back');
    return { ...result, restoredRevision: target.revision };
  }

  /**
   * PUT with `?wait`: writes the API and its deployment record in one transaction, then
   * waits until every targeted runtime answered, or the time is up.
   */
  async putAndWait(org: string, name: string, labels: Labels, spec: ApiSpec, waitMs: number, rollbackOnFailure: boolean, ifMatch: number | undefined): Promise<{ put: PutResult<'Api'>; report: DeploymentReport }> {
    let deploymentId = 0;
    const put = await this.store.put('Api', org, name, labels, spec, {
      ...(ifMatch === undefined ? {} : { ifMatch }),
      alsoDo: async (m, previous) => {
        const [row] = await m.tx<{ id: number }[]>`
          INSERT INTO deployments (org_id, api_name, revision, previous_revision, rollback_on_failure, deadline, controller_id)
          VALUES (${org}, ${name}, ${m.revision}, ${previous?.revision ?? null}, ${rollbackOnFailure},
                  now() + ${`${waitMs} milliseconds`}::interval, ${this.controllerId})
          RETURNING id`;
        deploymentId = row?.id ?? 0;
      },
    });
    if (!put.changed) {
      // Nothing new was deployed: report on what is in force.
      const status = await this.waitForAnswers(org, name, put.record.revision, waitMs);
      return { put, report: { outcome: status.summary.pending > 0 ? 'timed-out' : status.summary.nacked > 0 ? 'failed' : 'converged', status, detail: 'unchanged' } };
    }
    const status = await this.waitForAnswers(org, name, put.record.revision, waitMs);
    const report = await this.finish(await this.deployment(deploymentId), status);
    return { put, report };
  }

  /** Finishes deployments whose replica stopped waiting on them (it died): run by one replica at a time. */
  async finishAbandoned(): Promise<number> {
    const rows = await this.sql<DeploymentRow[]>`
      SELECT id, org_id, api_name, revision, previous_revision, rollback_on_failure FROM deployments
      WHERE state = 'waiting' AND deadline < now() - interval '5 seconds' ORDER BY id LIMIT 100`;
    for (const row of rows) {
      const status = await deploymentStatus(this.sql, row.org_id, row.api_name, row.revision);
      const report = await this.finish(row, status);
      this.log.warn({ deployment: row.id, api: row.api_name, revision: row.revision, outcome: report.outcome }, 'finished a deployment its replica abandoned');
    }
    return rows.length;
  }

  private async deployment(id: number): Promise<DeploymentRow> {
    const [row] = await this.sql<DeploymentRow[]>`
      SELECT id, org_id, api_name, revision, previous_revision, rollback_on_failure FROM deployments WHERE id = ${id}`;
    if (row === undefined) throw new Error(`deployment ${id} is missing`);
    return row;
  }

  private async waitForAnswers(org: string, name: string, revision: number, waitMs: number): Promise<DeploymentStatus> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const status = await deploymentStatus(this.sql, org, name, revision);
      if (status.summary.pending === 0 || Date.now() >= deadline) return status;
      await sleep(Math.min(POLL_INTERVAL_MS, Math.max(deadline - Date.now(), 1)));
    }
  }

  /** Records the outcome; rolls back in the same transaction when asked to and needed. */
  private async finish(row: DeploymentRow, status: DeploymentStatus): Promise<DeploymentReport> {
    const { nacked, pending } = status.summary;
    const outcome: DeploymentOutcome = nacked > 0 ? 'failed' : pending > 0 ? 'timed-out' : 'converged';
    const detail =
      outcome === 'failed'
        ? `${nacked} runtime(s) rejected revision ${row.revision}: ${status.runtimes.find((r) => r.state === 'nacked')?.error ?? ''}`
        : outcome === 'timed-out'
          ? `${pending} of ${status.summary.total} runtime(s) did not answer in time`
          : `${status.summary.acked} runtime(s) applied revision ${row.revision}`;
    if (outcome === 'converged' || !row.rollback_on_failure) {
      await this.sql`UPDATE deployments SET state = ${outcome}, detail = ${detail}, finished_at = now() WHERE id = ${row.id} AND state = 'waiting'`;
      return { outcome, status, detail };
    }
    try {
      const revision = await this.rollBackDeployment(row, `${detail}; rolled back`);
      this.log.warn({ api: row.api_name, revision: row.revision, restored: row.previous_revision, outcome }, 'deployment failed; rolled back');
      return { outcome: 'rolled-back', status, detail: `${detail}; rolled back`, rollbackRevision: revision, restoredRevision: row.previous_revision };
    } catch (error) {
      const reason = error instanceof CausewayError && error.code === 'precondition_failed' ? 'the API changed meanwhile' : 'the rollback failed';
      const note = `${detail}; not rolled back: ${reason}`;
      await this.sql`UPDATE deployments SET state = ${outcome}, detail = ${note}, finished_at = now() WHERE id = ${row.id} AND state = 'waiting'`;
      if (!(error instanceof CausewayError)) this.log.error({ err: error, deployment: row.id }, 'rollback failed');
      return { outcome, status, detail: note };
    }
  }

  private async rollBackDeployment(row: DeploymentRow, detail: string): Promise<number> {
    const claim = async (m: Mutation): Promise<void> => {
      const claimed = await m.tx`
        UPDATE deployments SET state = 'rolled-back', detail = ${detail}, rollback_revision = ${m.revision}, finished_at = now()
        WHERE id = ${row.id} AND state = 'waiting'`;
      // Someone else finished it first: undo this rollback.
      if (claimed.count !== 1) throw new CausewayError('precondition_failed', 'the deployment was already finished');
    };
    if (row.previous_revision === null) {
      return this.store.delete('Api', row.org_id, row.api_name, { ifMatch: row.revision, alsoDo: claim });
    }
    const [previous] = await this.sql<{ labels: Labels; spec: ApiSpec }[]>`
      SELECT labels, spec FROM api_revisions WHERE org_id = ${row.org_id} AND name = ${row.api_name} AND revision = ${row.previous_revision}`;
    if (previous === undefined) throw new Error(`API revision ${row.previous_revision} is missing`);
    const result = await this.store.put('Api', row.org_id, row.api_name, previous.labels, previous.spec, { ifMatch: row.revision, alsoDo: claim });
    return result.record.revision;
  }
}

