import { apiRules, CausewayError } from '@causeway/shared';
import type { StatusWatch } from '../deployment/status-watch.ts';
import { pickGateway, type PoolAvailability } from '../store/allocation-gateways.ts';
import { holdGateway, type Allocation, type StepName } from '../store/allocations.ts';
import { pgCode, pgCodes, type Sql } from '../store/database.ts';
import { deploymentStatus, type DeploymentStatus } from '../store/deployment-status.ts';
import type { HealthSettings } from '../store/gateway-health.ts';
import { mutate, type AuditContext, type Mutation } from '../store/mutate.ts';
import type { ApiSpec } from '../store/records.ts';
import { ResourceStore } from '../store/resource-store.ts';
import type { HandshakeClient, HandshakeTarget } from './handshake-client.ts';

export interface AllocationSettings {
  /** A tenant's host is `<tenant>.<tenantDomain>`. */
  readonly tenantDomain: string;
  readonly leaseMs: number;
  readonly convergeTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
}

/** What a step of one allocation works with. */
export interface StepContext {
  readonly sql: Sql;
  readonly owner: string;
  readonly audit: AuditContext;
  readonly allocation: Allocation;
  readonly settings: AllocationSettings;
  readonly health: HealthSettings;
  readonly handshake: HandshakeClient;
  readonly watch: StatusWatch;
  /** The revision the route step wrote (known to the run that wrote it). */
  readonly routeRevision: number | undefined;
  /** Records the step done in the transaction of its effect. */
  readonly finish: (m: Mutation) => Promise<void>;
}

export interface StepResult {
  /** The step's `done` was written with its effect (by `finish`). */
  readonly recorded: boolean;
  readonly detail?: string;
  readonly gateway?: string;
  readonly revision?: number;
}

type StepAction = (ctx: StepContext) => Promise<StepResult>;

/** The label that marks the API of an allocation's route (never another's to remove). */
const ALLOCATION_LABEL = 'causeway/allocation';
/** Two replicas picked the same gateway at once: the loser picks again. */
const RESERVE_RACES = 5;

function noGateway(pool: string, availability: PoolAvailability | undefined): CausewayError {
  if (availability === undefined) return new CausewayError('not_found', `gateway pool "${pool}" does not exist`);
  if (availability.members === 0) return new CausewayError('no_gateway_available', `no free healthy gateway in pool "${pool}": it has no members`);
  const parts = [
    [availability.allocated, 'allocated'],
    [availability.inUse, 'named by APIs'],
    [availability.quarantined, 'quarantined'],
    [availability.unhealthy, 'unhealthy'],
  ].flatMap(([n, what]) => (n === 0 ? [] : [`${n} ${what}`]));
  return new CausewayError('no_gateway_available', `no free healthy gateway in pool "${pool}"; ${parts.join(', ')}`);
}

const reserve: StepAction = async (ctx) => {
  const { id, org, pool } = ctx.allocation;
  for (let race = 1; ; race++) {
    try {
      const { result } = await mutate(ctx.sql, ctx.audit, async (m) => {
        const picked = await pickGateway(m, org, pool, ctx.health);
        if (picked.gateway === undefined) throw noGateway(pool, picked.availability);
        await holdGateway(m, id, ctx.owner, picked.gateway);
        await ctx.finish(m);
        return picked.gateway;
      });
      return { recorded: true, gateway: result };
    } catch (error) {
      if (pgCode(error) !== pgCodes.uniqueViolation || race >= RESERVE_RACES) throw error;
    }
  }
};

const unreserve: StepAction = async (ctx) => {
  await mutate(ctx.sql, ctx.audit, async (m) => {
    await holdGateway(m, ctx.allocation.id, ctx.owner, null);
    await ctx.finish(m);
  });
  return { recorded: true };
};

/** The tenant's route: every request for its host goes to its gateway. */
function tenantRoute(host: string, gateway: string): ApiSpec {
  return {
    basePath: '/',
    hosts: [host],
    methods: [],
    stripBasePath: apiRules.stripBasePath,
    upstream: { gateway },
    timeouts: { connectMs: apiRules.timeouts.connectMs.default, requestMs: apiRules.timeouts.requestMs.default },
    retries: { attempts: apiRules.retries.attempts.default, perTryTimeoutMs: apiRules.retries.perTryTimeoutMs.default },
    loadBalancing: apiRules.loadBalancing,
    failover: { enabled: false, zones: [] },
    runtimeSelector: { matchLabels: {} },
  };
}

function gatewayOf(allocation: Allocation): string {
  if (allocation.gateway === null) throw new Error(`allocation ${allocation.id} has no gateway`);
  return allocation.gateway;
}

const publishRoute: StepAction = async (ctx) => {
  const { id, org, api, host, tenant } = ctx.allocation;
  const store = new ResourceStore(ctx.sql, { org, audit: ctx.audit });
  const labels = { [ALLOCATION_LABEL]: id, 'causeway/tenant': tenant };
  try {
    const put = await store.put('Api', api, labels, tenantRoute(host, gatewayOf(ctx.allocation)), {
      alsoDo: async (m, previous) => {
        if (previous !== undefined && previous.labels[ALLOCATION_LABEL] !== id) throw new CausewayError('conflict', `API "${api}" exists and is not this allocation's`);
        await ctx.finish(m);
      },
    });
    return { recorded: put.changed, revision: put.record.revision };
  } catch (error) {
    if (error instanceof CausewayError && error.code === 'conflict') {
      throw new CausewayError('conflict', `host "${host}" is already served: ${error.message}`, { cause: error });
    }
    throw error;
  }
};

/** The runtimes' answers to a revision of the route, once none is pending or at the deadline (or at the first rejection). */
async function runtimeAnswers(ctx: StepContext, revision: number, timeoutMs: number): Promise<DeploymentStatus> {
  const { org, api } = ctx.allocation;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = ctx.watch.generation;
    const status = await deploymentStatus(ctx.sql, org, api, revision);
    if (status.summary.pending === 0 || status.summary.nacked > 0 || Date.now() >= deadline) return status;
    await ctx.watch.changeAfter(seen, deadline - Date.now());
  }
}

function pendingNames(status: DeploymentStatus): string {
  return status.runtimes.filter((r) => r.state === 'pending').slice(0, 5).map((r) => `"${r.nodeId}"`).join(', ');
}

const removeRoute: StepAction = async (ctx) => {
  const { id, org, api } = ctx.allocation;
  const store = new ResourceStore(ctx.sql, { org, audit: ctx.audit });
  const current = await store.get('Api', api);
  if (current === undefined || current.labels[ALLOCATION_LABEL] !== id) return { recorded: false, detail: 'no route to remove' };
  let revision: number;
  try {
    revision = await store.delete('Api', api, { ifMatch: current.revision });
  } catch (error) {
    if (error instanceof CausewayError && error.code === 'not_found') return { recorded: false, detail: 'no route to remove' };
    throw error;
  }
  // The gateway goes back to the pool after this undo: wait until runtimes stopped routing the host to it.
  const status = await runtimeAnswers(ctx, revision, ctx.settings.convergeTimeoutMs);
  if (status.summary.pending === 0 && status.summary.nacked === 0) return { recorded: false, detail: `removed from ${status.summary.total} runtime(s)` };
  return { recorded: false, detail: `${status.summary.pending + status.summary.nacked} runtime(s) had not confirmed the removal within ${ctx.settings.convergeTimeoutMs} ms: ${pendingNames(status)}` };
};

const converge: StepAction = async (ctx) => {
  const { tenant } = ctx.allocation;
  const revision = ctx.routeRevision;
  if (revision === undefined) throw new Error('converge runs after the route step of the same run');
  const status = await runtimeAnswers(ctx, revision, ctx.settings.convergeTimeoutMs);
  const rejected = status.runtimes.find((r) => r.state === 'nacked');
  if (rejected !== undefined) throw new CausewayError('unavailable', `runtime "${rejected.nodeId}" rejected the route of tenant "${tenant}": ${rejected.error ?? ''}`);
  const { pending, total } = status.summary;
  if (pending > 0) {
    throw new CausewayError('unavailable', `${pending} of ${total} runtime(s) did not apply the route of tenant "${tenant}" within ${ctx.settings.convergeTimeoutMs} ms: ${pendingNames(status)}`);
  }
  return { recorded: false, detail: `${total} runtime(s) serve it` };
};

/** Where the gateway hears of its tenant; undefined when the gateway no longer exists. */
async function handshakeTarget(ctx: StepContext): Promise<HandshakeTarget | undefined> {
  const { org } = ctx.allocation;
  const gateway = gatewayOf(ctx.allocation);
  const record = await new ResourceStore(ctx.sql, { org, audit: ctx.audit }).get('Gateway', gateway);
  if (record === undefined) return undefined;
  return { gateway, url: `${record.spec.url}${record.spec.handshakePath}` };
}

function handshakeBody(a: Allocation) {
  return { tenant: a.tenant, allocation: a.id, host: a.host };
}

const handshake: StepAction = async (ctx) => {
  const target = await handshakeTarget(ctx);
  if (target === undefined) throw new CausewayError('not_found', `gateway "${ctx.allocation.gateway ?? ''}" no longer exists`);
  await ctx.handshake.send('POST', target, handshakeBody(ctx.allocation));
  return { recorded: false };
};

const unhandshake: StepAction = async (ctx) => {
  if (ctx.allocation.gateway === null) return { recorded: false, detail: 'no gateway' };
  const target = await handshakeTarget(ctx);
  if (target === undefined) return { recorded: false, detail: 'the gateway no longer exists' };
  await ctx.handshake.send('DELETE', target, handshakeBody(ctx.allocation));
  return { recorded: false };
};

/** Each step and its undo; converge has none. */
export const stepActions: Readonly<Record<StepName, { readonly run: StepAction; readonly undo?: StepAction }>> = {
  reserve: { run: reserve, undo: unreserve },
  route: { run: publishRoute, undo: removeRoute },
  converge: { run: converge },
  handshake: { run: handshake, undo: unhandshake },
};
