import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@causeway/shared';
import type { Zone } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { DtcTracker } from '../health/dtc-tracker.ts';
import { MemberTracker } from '../health/member-tracker.ts';
import { defaultOutlierSettings } from '../health/outlier.ts';
import { createRuntimeMetrics } from '../metrics.ts';
import type { Resources } from '../resources/resources.ts';
import { buildServingConfig } from '../testing/build-serving-config.ts';
import { api, cluster, zone, type ApiInit, type MemberInit } from '../testing/resources.ts';
import { Dispatchers } from '../upstreams/dispatchers.ts';
import type { ApiRoute, RouteTarget } from './serving-config.ts';
import { chooseTarget, hasCandidate } from './target-choice.ts';

const log = createLogger('test', { level: 'silent' });
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

interface Built {
  readonly route: ApiRoute;
  readonly dtc: DtcTracker;
}

/** Builds one API's route exactly as a config apply does, for a runtime in `ownZone`. */
function build(ownZone: string, members: readonly MemberInit[], init: ApiInit = {}, zones: readonly Zone[] = []): Built {
  const metrics = createRuntimeMetrics();
  const tracker = new MemberTracker({ log, metrics, outlier: defaultOutlierSettings, now: Date.now });
  const dtc = new DtcTracker({ log, metrics });
  const dispatchers = new Dispatchers();
  const pools = dispatchers.plan();
  cleanups.push(() => dispatchers.abandon(pools));
  const health = { members: tracker.plan(), dtc: dtc.plan() };
  const resources: Resources = {
    revision: 1n,
    cluster: new Map([['acme/pool/main', { version: '1', message: cluster('acme/pool/main', members) }]]),
    zone: new Map(zones.map((z) => [z.name, { version: '1', message: z }])),
    api: new Map([['acme/orders', { version: '1', message: api('acme/orders', init) }]]),
  };
  const built = buildServingConfig(resources, { zone: ownZone, dispatchers: pools, health, metrics });
  if (!built.ok) throw new Error(built.problems.join('; '));
  tracker.commit(health.members);
  dtc.commit(health.dtc);
  const route = built.config.apis.get('acme/orders');
  if (route === undefined) throw new Error('no route');
  return { route, dtc };
}

function describeTarget(target: RouteTarget | undefined): string | undefined {
  if (target === undefined) return undefined;
  return target.kind === 'member' ? target.member.name : `dtc:${target.zone}`;
}

/** Every target `chooseTarget` may return, over many draws. */
function choices(route: ApiRoute, tried: readonly RouteTarget[] = [], hopped = false): Set<string | undefined> {
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 60; i++) seen.add(describeTarget(chooseTarget(route, tried, hopped, Date.now(), Math.random)));
  return seen;
}

const failover = { enabled: true };

describe('target choice: zones', () => {
  it('uses local members only while any is usable, members without a zone counting as local', () => {
    const { route } = build('eu-1', [
      { name: 'local', url: 'http://10.0.0.1', zone: 'eu-1' },
      { name: 'zoneless', url: 'http://10.0.0.2', zone: '' },
      { name: 'remote', url: 'http://10.0.0.3', zone: 'eu-2' },
    ], { failover: { enabled: true, zones: ['eu-2'] } });
    expect(choices(route)).toEqual(new Set(['local', 'zoneless']));
  });

  it('counts every member as local when the cluster has none in the runtime zone', () => {
    const { route } = build('eu-1', [
      { name: 'b', url: 'http://10.0.0.1', zone: 'eu-2' },
      { name: 'c', url: 'http://10.0.0.2', zone: 'eu-3' },
    ]);
    expect(choices(route)).toEqual(new Set(['b', 'c']));
  });

  it('never routes to another zone without failover', () => {
    const { route } = build('eu-1', [
      { name: 'local', url: 'http://10.0.0.1', zone: 'eu-1', unhealthy: true },
      { name: 'remote', url: 'http://10.0.0.2', zone: 'eu-2' },
    ], {}, [zone('eu-2', 'http://eu-2.example')]);
    expect(choices(route)).toEqual(new Set([undefined]));
    expect(hasCandidate(route, [], false, Date.now())).toBe(false);
  });

  it('fails over to the next zone with usable members when no local member is usable', () => {
    const { route } = build('eu-1', [
      { name: 'local', url: 'http://10.0.0.1', zone: 'eu-1', unhealthy: true },
      { name: 'b1', url: 'http://10.0.0.2', zone: 'eu-2' },
      { name: 'b2', url: 'http://10.0.0.3', zone: 'eu-2' },
      { name: 'c', url: 'http://10.0.0.4', zone: 'eu-3' },
    ], { failover }, [zone('eu-2', 'http://eu-2.example', { failoverPriority: 2 }), zone('eu-3', 'http://eu-3.example', { failoverPriority: 1 })]);
    expect(choices(route)).toEqual(new Set(['c'])); // eu-3 comes first by priority
    expect(route.failover.map((f) => f.zone)).toEqual(['eu-3', 'eu-2']);
    const c = chooseTarget(route, [], false, Date.now(), Math.random);
    expect(c?.failovers).toBeDefined();
    // Zones whose candidates were all tried are passed over.
    expect(choices(route, c === undefined ? [] : [c])).toEqual(new Set(['b1', 'b2']));
  });

  it('follows an explicit zone list and skips the runtime zone in it', () => {
    const { route } = build('eu-1', [
      { name: 'local', url: 'http://10.0.0.1', zone: 'eu-1', unhealthy: true },
      { name: 'b', url: 'http://10.0.0.2', zone: 'eu-2' },
      { name: 'c', url: 'http://10.0.0.3', zone: 'eu-3' },
    ], { failover: { enabled: true, zones: ['eu-1', 'eu-2', 'eu-3'] } }, [zone('eu-3', 'http://eu-3.example', { failoverPriority: 0 })]);
    expect(route.failover.map((f) => f.zone)).toEqual(['eu-2', 'eu-3']);
    expect(choices(route)).toEqual(new Set(['b']));
  });

  it('keeps retries local while a local member is usable, even when all were tried', () => {
    const { route } = build('eu-1', [
      { name: 'local', url: 'http://10.0.0.1', zone: 'eu-1' },
      { name: 'remote', url: 'http://10.0.0.2', zone: 'eu-2' },
    ], { failover: { enabled: true, zones: ['eu-2'] } });
    const local = route.local[0]?.[0];
    if (local === undefined) throw new Error('no local member');
    expect(choices(route, [local])).toEqual(new Set([undefined]));
  });
});

describe('target choice: DTC URLs', () => {
  const members: MemberInit[] = [{ name: 'local', url: 'http://10.0.0.1', zone: 'eu-1', unhealthy: true }];
  const zones = [zone('eu-2', 'http://eu-2.example/edge', { failoverPriority: 1 }), zone('eu-3', 'http://eu-3.example', { failoverPriority: 2 })];

  it("goes to a zone's DTC URL when the cluster has no usable member there", () => {
    const { route } = build('eu-1', [...members, { name: 'b', url: 'http://10.0.0.2', zone: 'eu-2', unhealthy: true }], { failover }, zones);
    const target = chooseTarget(route, [], false, Date.now(), Math.random);
    expect(describeTarget(target)).toBe('dtc:eu-2');
    expect(target?.kind === 'dtc' && target.pathPrefix).toBe('/edge');
    expect(choices(route, target === undefined ? [] : [target])).toEqual(new Set(['dtc:eu-3']));
  });

  it('skips a DTC URL that fails its checks', () => {
    const { route, dtc } = build('eu-1', members, { failover }, zones);
    const first = route.failover[0]?.dtc;
    if (first === undefined) throw new Error('no DTC target');
    dtc.refused(first.state);
    expect(choices(route)).toEqual(new Set(['dtc:eu-3']));
    dtc.checkResult(first.state, true, 'ok');
    expect(choices(route)).toEqual(new Set(['dtc:eu-2']));
  });

  it('never forwards a request that another zone already forwarded here', () => {
    const { route } = build('eu-1', [...members, { name: 'b', url: 'http://10.0.0.2', zone: 'eu-2' }], { failover }, zones);
    expect(choices(route, [], true)).toEqual(new Set([undefined]));
    expect(hasCandidate(route, [], true, Date.now())).toBe(false);
    expect(hasCandidate(route, [], false, Date.now())).toBe(true);

    const healthy = build('eu-1', [{ name: 'local', url: 'http://10.0.0.1', zone: 'eu-1' }], { failover }, zones);
    expect(choices(healthy.route, [], true)).toEqual(new Set(['local'])); // local members still serve it
  });
});
