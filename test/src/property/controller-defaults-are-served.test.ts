import { create } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiRules, createLogger, healthCheckRules, MAX_REQUEST_TIMEOUT_MS, typeUrls, zoneRules, type ResourceKind } from '@causeway/shared';
import { LbPolicy } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { DiscoveryResponseSchema, type DiscoveryResponse } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import { createRuntimeMetrics } from '@causeway/runtime';
import { validateDocument } from '../../../controller/src/admin-api/validate.ts';
import { buildSnapshot, type Snapshot } from '../../../controller/src/snapshot/build-snapshot.ts';
import type { StoredRecord } from '../../../controller/src/store/records.ts';
import { modelFromRecords } from '../../../controller/src/sync/model.ts';
import { ConfigApplier } from '../../../runtime/src/config-applier.ts';
import type { ApiRoute } from '../../../runtime/src/routing/serving-config.ts';
import { memberKey } from '../../../runtime/src/upstreams/member-state.ts';

/*
 * The controller fills every default into what it stores; the runtime applies what it is
 * sent and keeps no default of its own. So an Api written with only its required fields
 * must be served with exactly the shared defaults (shared/src/rules), and any field that
 * is given must be served as given. A runtime-side default that differed, or a field the
 * controller stopped filling in (the runtime refuses it), fails here.
 */

const silent = createLogger('test', { level: 'silent' });
const policies = { random: LbPolicy.RANDOM, 'round-robin': LbPolicy.ROUND_ROBIN, 'least-request': LbPolicy.LEAST_REQUEST } as const;
const gatewayUrl = 'http://127.0.0.1:9';

interface ApiFields {
  stripBasePath?: boolean;
  loadBalancing?: keyof typeof policies;
  timeouts?: { connectMs?: number; requestMs?: number };
  retries?: { attempts?: number; perTryTimeoutMs?: number };
  failover?: { enabled?: boolean };
}
interface CheckFields {
  path?: string;
  intervalMs?: number;
  timeoutMs?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
}
interface ZoneFields {
  failoverEligible?: boolean;
  failoverPriority?: number;
}
interface Written {
  readonly api: ApiFields;
  readonly check: CheckFields | undefined;
  readonly zones: Readonly<Record<'eu-2' | 'eu-3', ZoneFields>>;
}

let revision = 0;

/** A record as the controller stores it: the document validated, every default filled in. */
function stored(doc: Record<string, unknown>): StoredRecord {
  const valid = validateDocument(doc);
  revision++;
  const org = valid.kind === 'Zone' ? '' : 'default';
  const at = new Date(revision);
  return { kind: valid.kind, org, name: valid.name, labels: valid.labels, spec: valid.spec, revision, createdAt: at, updatedAt: at, heartbeatExpired: false } as StoredRecord;
}

/** The controller's snapshot of a gateway, two zones and an Api written with `written`'s fields only. */
function snapshotOf(written: Written): Snapshot {
  const records = [
    stored({ kind: 'Gateway', metadata: { name: 'g1' }, spec: { url: gatewayUrl, ...(written.check && { healthCheck: written.check }) } }),
    stored({ kind: 'Zone', metadata: { name: 'eu-2' }, spec: { dtcUrl: 'http://127.0.0.1:10', ...written.zones['eu-2'] } }),
    stored({ kind: 'Zone', metadata: { name: 'eu-3' }, spec: { dtcUrl: 'http://127.0.0.1:11', ...written.zones['eu-3'] } }),
    stored({ kind: 'Api', metadata: { name: 'orders' }, spec: { basePath: '/orders', upstream: { gateway: 'g1' }, ...written.api } }),
  ];
  return buildSnapshot(modelFromRecords(revision, records));
}

function responseOf(snapshot: Snapshot, kind: ResourceKind): DiscoveryResponse {
  return create(DiscoveryResponseSchema, {
    revision: BigInt(snapshot.revision),
    typeUrl: typeUrls[kind],
    resources: [...snapshot.resources[kind].values()].map(({ name, version, resource }) => ({ name, version, resource })),
    nonce: kind,
    controllerId: 'controller-defaults',
  });
}

/** A runtime in eu-1 with default settings, given the snapshot in the order the controller sends it. */
function served(snapshot: Snapshot): ConfigApplier {
  const applier = new ConfigApplier({ zone: 'eu-1', maxRequestTimeoutMs: MAX_REQUEST_TIMEOUT_MS, metrics: createRuntimeMetrics(), log: silent, cache: undefined });
  for (const kind of ['cluster', 'zone', 'api'] as const) {
    expect(applier.apply(responseOf(snapshot, kind)), `the runtime NACKed the controller's ${kind}`).toMatchObject({ ok: true });
  }
  return applier;
}

/** What the runtime applies to the Api and its gateway, in the shape of the written fields. */
function appliedBy(applier: ConfigApplier): { route: ApiRoute; check: unknown; failoverZones: string[] } {
  const route = applier.serving.apis.get('default/orders');
  if (route === undefined) throw new Error('the Api is not served');
  const member = applier.health.members.trackedMember(memberKey('default/gateway/g1', 'g1', gatewayUrl));
  const settings = member?.check?.settings;
  const check = settings && {
    path: settings.path,
    intervalMs: settings.intervalMs,
    timeoutMs: settings.timeoutMs,
    healthyThreshold: settings.thresholds.healthy,
    unhealthyThreshold: settings.thresholds.unhealthy,
  };
  return { route, check, failoverZones: route.failover.map((zone) => zone.zone) };
}

/** What the shared rules say the runtime must apply: each field as written, else its shared default. */
function expected(written: Written): { route: Partial<ApiRoute>; check: unknown; failoverZones: string[] } {
  const { api, check = {} } = written;
  const intervalMs = check.intervalMs ?? healthCheckRules.intervalMs.default;
  const zones = (['eu-2', 'eu-3'] as const)
    .map((name) => ({ name, eligible: written.zones[name].failoverEligible ?? zoneRules.failoverEligible, priority: written.zones[name].failoverPriority ?? zoneRules.failoverPriority.default }))
    .filter((zone) => zone.eligible)
    .sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : 1));
  return {
    route: {
      stripBasePath: api.stripBasePath ?? apiRules.stripBasePath,
      upstreamLabel: 'gateway/g1',
      connectTimeoutMs: api.timeouts?.connectMs ?? apiRules.timeouts.connectMs.default,
      requestTimeoutMs: api.timeouts?.requestMs ?? apiRules.timeouts.requestMs.default,
      retryAttempts: api.retries?.attempts ?? apiRules.retries.attempts.default,
      perTryTimeoutMs: api.retries?.perTryTimeoutMs ?? apiRules.retries.perTryTimeoutMs.default,
    },
    check: {
      path: check.path ?? healthCheckRules.path,
      intervalMs,
      timeoutMs: check.timeoutMs ?? Math.min(healthCheckRules.timeoutMs.default, intervalMs),
      healthyThreshold: check.healthyThreshold ?? healthCheckRules.healthyThreshold.default,
      unhealthyThreshold: check.unhealthyThreshold ?? healthCheckRules.unhealthyThreshold.default,
    },
    failoverZones: (api.failover?.enabled ?? apiRules.failoverEnabled) ? zones.map((zone) => zone.name) : [],
  };
}

async function expectServedAsWritten(written: Written): Promise<void> {
  const applier = served(snapshotOf(written));
  try {
    const applied = appliedBy(applier);
    const want = expected(written);
    expect(applied.route).toMatchObject(want.route);
    expect(applied.route.balancer.policy).toBe(policies[written.api.loadBalancing ?? apiRules.loadBalancing]);
    expect(applied.check).toEqual(want.check);
    expect(applied.failoverZones).toEqual(want.failoverZones);
  } finally {
    await applier.close();
  }
}

const within = (range: { readonly min: number; readonly max: number }): fc.Arbitrary<number> => fc.integer(range);
const { timeouts, retries } = apiRules;
const apiFields: fc.Arbitrary<ApiFields> = fc.record(
  {
    stripBasePath: fc.boolean(),
    loadBalancing: fc.constantFrom('random', 'round-robin', 'least-request'),
    timeouts: fc.record({ connectMs: within(timeouts.connectMs), requestMs: within(timeouts.requestMs) }, { requiredKeys: [] }),
    retries: fc.record({ attempts: within(retries.attempts), perTryTimeoutMs: within(retries.perTryTimeoutMs) }, { requiredKeys: [] }),
    failover: fc.record({ enabled: fc.boolean() }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
// Check timeouts stay below the smallest interval, so every combination is valid.
const checkFields: fc.Arbitrary<CheckFields> = fc.record(
  {
    path: fc.constantFrom('/', '/health', '/status?full=1'),
    intervalMs: within(healthCheckRules.intervalMs),
    timeoutMs: fc.integer({ min: healthCheckRules.timeoutMs.min, max: healthCheckRules.intervalMs.min }),
    healthyThreshold: within(healthCheckRules.healthyThreshold),
    unhealthyThreshold: within(healthCheckRules.unhealthyThreshold),
  },
  { requiredKeys: [] },
);
const zoneFields: fc.Arbitrary<ZoneFields> = fc.record({ failoverEligible: fc.boolean(), failoverPriority: within(zoneRules.failoverPriority) }, { requiredKeys: [] });
const written: fc.Arbitrary<Written> = fc.record({
  api: apiFields,
  check: fc.option(checkFields, { nil: undefined }),
  zones: fc.record({ 'eu-2': zoneFields, 'eu-3': zoneFields }),
});

describe('the runtime serves what the controller fills in, with no default of its own', () => {
  it('serves an Api written with its required fields only with exactly the shared defaults', async () => {
    await expectServedAsWritten({ api: {}, check: undefined, zones: { 'eu-2': {}, 'eu-3': {} } });
  });

  it('serves every field as written, and every field left out as its shared default', async () => {
    await fc.assert(fc.asyncProperty(written, expectServedAsWritten), { numRuns: 200 });
  });
});
