import { CausewayError, type Logger } from '@causeway/shared';
import { getApiRevision, listApiRevisions, type ApiRevision } from '../store/api-revisions.ts';
import type { Sql } from '../store/database.ts';
import { deploymentStatus, type DeploymentStatus } from '../store/deployment-status.ts';
import { abandonedDeployments, claimRollback, finishDeployment, getDeployment, insertDeployment, type Deployment } from '../store/deployments.ts';
import { systemAudit, type AuditContext, type Mutation } from '../store/mutate.ts';
import type { ApiSpec, Labels } from '../store/records.ts';
import { notFound, ResourceStore, type PutResult } from '../store/resource-store.ts';
import { listenForRuntimeStatus } from '../store/runtime-status.ts';
import { StatusWatch } from './status-watch.ts';

type DeploymentOutcome = 'converged' | 'failed' | 'timed-out' | 'rolled-back';

export interface DeploymentReport {
  readonly outcome: DeploymentOutcome;
  readonly status: DeploymentStatus;
  readonly detail: string;
  /** Set when the API was rolled back: the revision the rollback wrote (or deleted at). */
  readonly rollbackRevision?: number;
  readonly restoredRevision?: number | null;
}

/**
 * Runtimes record their answers through whichever replica they stream from, which then
 * announces it; a waiting deployment looks again on each announcement, and at least this
 * often in case one was missed.
 */
const STATUS_POLL_MS = 1_000;

/** A replica that waits on a deployment finishes it at its deadline; others take over this long after. */
const ABANDONED_GRACE_MS = 5_000;

export interface DeployerOptions {
  readonly sql: Sql;
  readonly controllerId: string;
  readonly log: Logger;
  /** Default STATUS_POLL_MS. */
  readonly statusPollMs?: number;
}

/**
 * API deployments that wait for runtimes and may roll back. The deployment is recorded in
 * the same transaction as the API change, so if this replica dies while waiting, another
 * one finishes it (and rolls back) once the deadline has passed.
 */
export class Deployer {
  private readonly sql: Sql;
  private readonly controllerId: string;
  private readonly log: Logger;
  private readonly watch: StatusWatch;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(options: DeployerOptions) {
    this.sql = options.sql;
    this.controllerId = options.controllerId;
    this.log = options.log;
    this.watch = new StatusWatch(options.statusPollMs ?? STATUS_POLL_MS);
  }

  /** Listens for runtime status announcements of every replica. */
  async start(): Promise<void> {
    this.unlisten = await listenForRuntimeStatus(this.sql, () => this.watch.changed());
  }

  async close(): Promise<void> {
    await this.unlisten?.().catch(() => undefined);
    this.unlisten = undefined;
  }

  async status(store: ResourceStore, name: string): Promise<DeploymentStatus> {
    const api = await store.get('Api', name);
    if (api === undefined) throw notFound('Api', name);
    return deploymentStatus(this.sql, store.orgName, name, api.revision);
  }

  /**
   * The API's deployment status now, then each time it is looked at again: at once when a
   * runtime's answer is announced, and at least every poll interval (which also sees a new
   * revision of the API). Ends when `signal` aborts; throws 404 when the API goes away.
   */
  async *watchStatus(store: ResourceStore, name: string, signal: AbortSignal): AsyncGenerator<DeploymentStatus> {
    while (!signal.aborted) {
      const seen = this.watch.generation;
      yield await this.status(store, name);
      if (signal.aborted) return;
      await this.watch.changeAfter(seen, Number.POSITIVE_INFINITY);
    }
  }

  async revisions(store: ResourceStore, name: string): Promise<ApiRevision[]> {
    const revisions = await listApiRevisions(this.sql, store.orgName, name);
    if (revisions.length === 0) throw notFound('Api', name);
    return revisions;
  }

  /** Writes the spec of an earlier revision as a new revision (the previous one by default). */
  async rollback(
    store: ResourceStore,
    name: string,
    toRevision?: number,
    authorize: (target: { kind: 'Api'; name: string; spec: ApiSpec }) => Promise<void> = async () => undefined,
  ): Promise<PutResult<'Api'> & { restoredRevision: number }> {
    const current = await store.get('Api', name);
    if (current === undefined) throw notFound('Api', name);
    const history = await this.revisions(store, name);
    const target = toRevision === undefined ? history.find((r) => r.revision < current.revision) : history.find((r) => r.revision === toRevision);
    if (target === undefined) {
      throw toRevision === undefined
        ? new CausewayError('precondition_failed', `API "${name}" has no revision before ${current.revision} to roll back to`)
        : new CausewayError('not_found', `API "${name}" has no revision ${toRevision}`);
    }
    await authorize({ kind: 'Api', name, spec: target.spec });
    const result = await store.put('Api', name, target.labels, target.spec, { ifMatch: current.revision, action: 'rollback' });
    this.log.info({ api: name, from: current.revision, to: target.revision, revision: result.record.revision }, 'API rolled back');
    return { ...result, restoredRevision: target.revision };
  }

  /**
   * PUT with `?wait`: writes the API and its deployment record in one transaction, then
   * waits until every targeted runtime answered, or the time is up.
   */
  async putAndWait(store: ResourceStore, name: string, labels: Labels, spec: ApiSpec, waitMs: number, rollbackOnFailure: boolean, ifMatch: number | undefined): Promise<{ put: PutResult<'Api'>; report: DeploymentReport }> {
    let deploymentId = 0;
    const org = store.orgName;
    const put = await store.put('Api', name, labels, spec, {
      ...(ifMatch === undefined ? {} : { ifMatch }),
      alsoDo: async (m, previous) => {
        deploymentId = await insertDeployment(m, { org, api: name, previousRevision: previous?.revision ?? null, rollbackOnFailure, waitMs, controllerId: this.controllerId });
      },
    });
    if (!put.changed) {
      // Nothing new was deployed: report on what is in force.
      const status = await this.waitForAnswers(org, name, put.record.revision, waitMs);
      return { put, report: { outcome: status.summary.pending > 0 ? 'timed-out' : status.summary.nacked > 0 ? 'failed' : 'converged', status, detail: 'unchanged' } };
    }
    const status = await this.waitForAnswers(org, name, put.record.revision, waitMs);
    const deployment = await getDeployment(this.sql, org, deploymentId);
    if (deployment === undefined) throw new Error(`deployment ${deploymentId} is missing`);
    return { put, report: await this.finish(deployment, status, store.auditContext) };
  }

  /** Finishes deployments whose replica stopped waiting on them (it died): run by one replica at a time. */
  async finishAbandoned(): Promise<number> {
    const deployments = await abandonedDeployments(this.sql, ABANDONED_GRACE_MS, 100);
    for (const deployment of deployments) {
      const status = await deploymentStatus(this.sql, deployment.org, deployment.api, deployment.revision);
      const report = await this.finish(deployment, status, systemAudit(this.controllerId));
      this.log.warn({ deployment: deployment.id, api: deployment.api, revision: deployment.revision, outcome: report.outcome }, 'finished a deployment its replica abandoned');
    }
    return deployments.length;
  }

  /** The status once no targeted runtime is pending, or at the deadline. */
  private async waitForAnswers(org: string, name: string, revision: number, waitMs: number): Promise<DeploymentStatus> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const seen = this.watch.generation;
      const status = await deploymentStatus(this.sql, org, name, revision);
      if (status.summary.pending === 0 || Date.now() >= deadline) return status;
      await this.watch.changeAfter(seen, deadline - Date.now());
    }
  }

  /** Records the outcome; rolls back in the same transaction when asked to and needed. */
  private async finish(deployment: Deployment, status: DeploymentStatus, audit: AuditContext): Promise<DeploymentReport> {
    const { nacked, pending } = status.summary;
    const outcome = nacked > 0 ? 'failed' : pending > 0 ? 'timed-out' : 'converged';
    const detail =
      outcome === 'failed'
        ? `${nacked} runtime(s) rejected revision ${deployment.revision}: ${status.runtimes.find((r) => r.state === 'nacked')?.error ?? ''}`
        : outcome === 'timed-out'
          ? `${pending} of ${status.summary.total} runtime(s) did not answer in time`
          : `${status.summary.acked} runtime(s) applied revision ${deployment.revision}`;
    if (outcome === 'converged' || !deployment.rollbackOnFailure) {
      await finishDeployment(this.sql, deployment, outcome, detail);
      return { outcome, status, detail };
    }
    try {
      const revision = await this.rollBack(deployment, `${detail}; rolled back`, audit);
      this.log.warn({ api: deployment.api, revision: deployment.revision, restored: deployment.previousRevision, outcome }, 'deployment failed; rolled back');
      return { outcome: 'rolled-back', status, detail: `${detail}; rolled back`, rollbackRevision: revision, restoredRevision: deployment.previousRevision };
    } catch (error) {
      const reason = error instanceof CausewayError && error.code === 'precondition_failed' ? 'the API changed meanwhile' : 'the rollback failed';
      const note = `${detail}; not rolled back: ${reason}`;
      await finishDeployment(this.sql, deployment, outcome, note);
      if (!(error instanceof CausewayError)) this.log.error({ err: error, deployment: deployment.id }, 'rollback failed');
      return { outcome, status, detail: note };
    }
  }

  /** Writes the previous revision back (or deletes a created API) and claims the deployment, in one mutation. */
  private async rollBack(deployment: Deployment, detail: string, audit: AuditContext): Promise<number> {
    const claim = async (m: Mutation): Promise<void> => {
      // Someone else finished it first: undo this rollback.
      if (!(await claimRollback(m, deployment, detail))) throw new CausewayError('precondition_failed', 'the deployment was already finished');
    };
    const { org, api } = deployment;
    const store = new ResourceStore(this.sql, { org, audit });
    const options = { ifMatch: deployment.revision, alsoDo: claim, action: 'rollback' } as const;
    if (deployment.previousRevision === null) return store.delete('Api', api, options);
    const previous = await getApiRevision(this.sql, org, api, deployment.previousRevision);
    // Only the newest revisions are kept: one this old means many writes came since, and the API is not the deployment's any more.
    if (previous === undefined) throw new CausewayError('precondition_failed', `API "${api}" changed since revision ${deployment.revision}: its revision ${deployment.previousRevision} is no longer kept`);
    const result = await store.put('Api', api, previous.labels, previous.spec, options);
    return result.record.revision;
  }
}
