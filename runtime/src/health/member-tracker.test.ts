import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { createLogger } from '@causeway/shared';
import { HealthCheckSchema, MemberHealth } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { createRuntimeMetrics, type RuntimeMetrics } from '../metrics.ts';
import { isUsable, memberKey, type LiveMember } from '../upstreams/member-state.ts';
import { MemberTracker, type MemberDefinition } from './member-tracker.ts';
import { defaultOutlierSettings } from './outlier.ts';

interface Spec {
  readonly name: string;
  /** An active check with healthy threshold 2 and unhealthy threshold 3. */
  readonly checked?: boolean;
  readonly unhealthy?: boolean;
  readonly cluster?: string;
}

const t0 = Date.UTC(2030, 0, 1);

function definition(spec: Spec, index: number): MemberDefinition {
  return {
    cluster: spec.cluster ?? 'acme/pool/main',
    name: spec.name,
    url: `http://10.0.0.${index + 1}:8000`,
    controlPlaneHealth: spec.unhealthy === true ? MemberHealth.UNHEALTHY : MemberHealth.HEALTHY,
    healthCheck:
      spec.checked === true
        ? create(HealthCheckSchema, { path: '/health', intervalMs: 1000, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 3 })
        : undefined,
  };
}

class Harness {
  readonly metrics: RuntimeMetrics = createRuntimeMetrics();
  readonly log = createLogger('test', { level: 'silent' });
  readonly warn = vi.spyOn(this.log, 'warn');
  readonly info = vi.spyOn(this.log, 'info');
  readonly changes = vi.fn();
  readonly tracker = new MemberTracker({ log: this.log, metrics: this.metrics, outlier: defaultOutlierSettings, now: Date.now, onChange: this.changes });
  members = new Map<string, LiveMember>();
  private definitions: MemberDefinition[] = [];

  apply(specs: readonly Spec[], used: readonly string[] = ['acme/pool/main']): this {
    const plan = this.tracker.plan();
    for (const cluster of used) plan.use(cluster);
    this.definitions = specs.map(definition);
    this.members = new Map(this.definitions.map((d) => [d.name, plan.member(d)]));
    this.tracker.commit(plan);
    return this;
  }

  member(name: string): LiveMember {
    const member = this.members.get(name);
    if (member === undefined) throw new Error(`no member ${name}`);
    return member;
  }

  check(name: string, passed: boolean, reason = passed ? 'ok' : 'status 500'): void {
    const job = this.tracker.checkJobs().get(this.member(name).key);
    if (job === undefined) throw new Error(`no check for ${name}`);
    job.onResult(passed, reason);
  }

  failTimes(name: string, times: number, failure = 'status 503'): void {
    for (let i = 0; i < times; i++) this.tracker.failed(this.member(name), failure);
  }

  async metric(name: 'memberStateChanges' | 'clusterHealthyMembers' | 'outlierEjectionsSkipped', labels: Record<string, string>): Promise<number | undefined> {
    const values = (await this.metrics[name].get()).values;
    return values.find((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))?.value;
  }
}

beforeEach(() => {
  vi.useFakeTimers({ now: t0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('member states: active checks', () => {
  it('counts a never-checked member as healthy and flips only after the thresholds', () => {
    const h = new Harness().apply([{ name: 'a', checked: true }, { name: 'b' }]);
    expect(h.member('a').state).toEqual({ kind: 'healthy' });
    h.check('a', false);
    h.check('a', false);
    expect(h.member('a').state.kind).toBe('healthy');
    h.check('a', false, 'connect ECONNREFUSED');
    expect(h.member('a').state).toEqual({ kind: 'unhealthy', since: t0, reason: 'health check failed: connect ECONNREFUSED' });
    h.check('a', true);
    expect(h.member('a').state.kind).toBe('unhealthy');
    h.check('a', false);
    h.check('a', true);
    expect(h.member('a').state.kind).toBe('unhealthy'); // the streak of passes was broken
    h.check('a', true);
    expect(h.member('a').state).toEqual({ kind: 'healthy' });
  });

  it('logs and counts each state change once, and keeps the healthy gauge current', async () => {
    const h = new Harness().apply([{ name: 'a', checked: true }, { name: 'b' }]);
    expect(await h.metric('clusterHealthyMembers', { cluster: 'acme/pool/main' })).toBe(2);
    for (let i = 0; i < 6; i++) h.check('a', false);
    expect(h.warn).toHaveBeenCalledTimes(1);
    expect(h.warn).toHaveBeenCalledWith(
      expect.objectContaining({ cluster: 'acme/pool/main', member: 'a', from: 'healthy', to: 'unhealthy', reason: 'health check failed: status 500' }),
      'member state changed',
    );
    expect(await h.metric('memberStateChanges', { cluster: 'acme/pool/main', to: 'unhealthy' })).toBe(1);
    expect(await h.metric('clusterHealthyMembers', { cluster: 'acme/pool/main' })).toBe(1);
    h.check('a', true);
    h.check('a', true);
    expect(h.info).toHaveBeenCalledWith(expect.objectContaining({ member: 'a', from: 'unhealthy', to: 'healthy', reason: 'health check passed' }), 'member state changed');
    expect(await h.metric('memberStateChanges', { cluster: 'acme/pool/main', to: 'healthy' })).toBe(1);
    expect(await h.metric('clusterHealthyMembers', { cluster: 'acme/pool/main' })).toBe(2);
  });

  it('runs checks only for clusters in use and restarts them when the settings change', () => {
    const h = new Harness().apply([{ name: 'a', checked: true }, { name: 'x', checked: true, cluster: 'acme/pool/idle' }]);
    expect([...h.tracker.checkJobs().values()].map((j) => j.url)).toEqual(['http://10.0.0.1:8000/health']);
    for (let i = 0; i < 3; i++) h.check('a', false);
    expect(h.member('a').state.kind).toBe('unhealthy');
    const before = h.tracker.checkJobs().get(h.member('a').key)?.signature;

    // Same member, new check settings: a new checker, and the old verdict is forgotten.
    const plan = h.tracker.plan();
    plan.use('acme/pool/main');
    plan.member({ ...definition({ name: 'a' }, 0), healthCheck: create(HealthCheckSchema, { path: '/ready', intervalMs: 1000 }) });
    h.tracker.commit(plan);
    const job = h.tracker.checkJobs().get(h.member('a').key);
    expect(job?.signature).not.toBe(before);
    expect(job?.url).toBe('http://10.0.0.1:8000/ready');
    expect(h.member('a').state.kind).toBe('healthy');
    expect(h.tracker.state(memberKey('acme/pool/idle', 'x', 'http://10.0.0.2:8000'))).toBeUndefined();
  });

  it('ignores results of a check that was replaced', () => {
    const h = new Harness().apply([{ name: 'a', checked: true }]);
    const old = h.tracker.checkJobs().get(h.member('a').key);
    h.apply([{ name: 'a' }]); // the check is removed
    for (let i = 0; i < 5; i++) old?.onResult(false, 'status 500');
    expect(h.member('a').state.kind).toBe('healthy');
    expect(h.tracker.checkJobs().size).toBe(0);
  });
});

describe('member states: outlier detection', () => {
  it('ejects after 5 consecutive failures; a success in between resets the streak', () => {
    const h = new Harness().apply([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    h.failTimes('a', 4);
    h.tracker.succeeded(h.member('a'));
    h.failTimes('a', 4);
    expect(h.member('a').state.kind).toBe('healthy');
    h.failTimes('a', 1, 'connection closed');
    expect(h.member('a').state).toEqual({ kind: 'ejected', until: t0 + 30_000 });
    expect(h.tracker.reports().find((r) => r.member === 'a')).toEqual({
      cluster: 'acme/pool/main',
      member: 'a',
      healthy: false,
      reason: 'ejected after 5 consecutive failures (last: connection closed)',
    });
  });

  it('grows the ejection time with repeated ejections up to the cap, and forgives with time', () => {
    const h = new Harness().apply([{ name: 'a' }, { name: 'b' }]);
    const durations: number[] = [];
    for (let round = 0; round < 12; round++) {
      h.failTimes('a', 5);
      const state = h.member('a').state;
      if (state.kind !== 'ejected') throw new Error(`round ${round}: not ejected`);
      durations.push(state.until - Date.now());
      vi.advanceTimersByTime(state.until - Date.now());
      expect(h.member('a').state).toEqual({ kind: 'healthy' });
    }
    expect(durations.slice(0, 4)).toEqual([30_000, 60_000, 90_000, 120_000]);
    expect(durations.slice(9)).toEqual([300_000, 300_000, 300_000]);

    // In service for 3 base ejection times: 3 ejections are forgiven (12 → 9, so the next is the 10th).
    vi.advanceTimersByTime(90_000);
    h.failTimes('a', 5);
    const state = h.member('a').state;
    expect(state.kind === 'ejected' && state.until - Date.now()).toBe(300_000);
    vi.advanceTimersByTime(300_000 + 30_000 * 10);
    h.failTimes('a', 5);
    const later = h.member('a').state;
    expect(later.kind === 'ejected' && later.until - Date.now()).toBe(30_000);
  });

  it('ejects at most half of a cluster and never its last usable member', async () => {
    const h = new Harness().apply([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }]);
    h.failTimes('a', 5);
    h.failTimes('b', 5);
    h.failTimes('c', 5);
    expect(['a', 'b', 'c', 'd'].map((n) => h.member(n).state.kind)).toEqual(['ejected', 'ejected', 'healthy', 'healthy']);
    expect(await h.metric('outlierEjectionsSkipped', { cluster: 'acme/pool/main' })).toBe(1);
    h.failTimes('c', 1); // still over the share: skipped again
    expect(await h.metric('outlierEjectionsSkipped', { cluster: 'acme/pool/main' })).toBe(2);

    const single = new Harness().apply([{ name: 'only' }]);
    single.failTimes('only', 50);
    expect(single.member('only').state.kind).toBe('healthy');

    // Two members, one taken out by its checks: the other is the last usable one.
    const pair = new Harness().apply([{ name: 'a', checked: true }, { name: 'b' }]);
    for (let i = 0; i < 3; i++) pair.check('a', false);
    pair.failTimes('b', 5);
    expect(pair.member('b').state.kind).toBe('healthy');
  });

  it('takes a refused member out at once, whatever the share, until the ejection timer (no active check)', () => {
    const h = new Harness().apply([{ name: 'only' }]);
    h.tracker.refused(h.member('only'));
    expect(h.member('only').state).toEqual({ kind: 'unhealthy', since: t0, reason: 'connect refused' });
    expect(h.tracker.reports()).toEqual([{ cluster: 'acme/pool/main', member: 'only', healthy: false, reason: 'connect refused' }]);
    vi.advanceTimersByTime(29_999);
    expect(h.member('only').state.kind).toBe('unhealthy');
    vi.advanceTimersByTime(1);
    expect(h.member('only').state).toEqual({ kind: 'healthy' });
    h.tracker.refused(h.member('only'));
    vi.advanceTimersByTime(30_000);
    expect(h.member('only').state.kind).toBe('unhealthy'); // the second time lasts 60 s
    vi.advanceTimersByTime(30_000);
    expect(h.member('only').state.kind).toBe('healthy');
  });

  it('brings a refused member with an active check back only after healthy_threshold passes', () => {
    const h = new Harness().apply([{ name: 'a', checked: true }, { name: 'b', checked: true }]);
    h.tracker.refused(h.member('a'));
    h.tracker.refused(h.member('b'));
    expect(h.member('a').state).toMatchObject({ kind: 'unhealthy', reason: 'connect refused' });
    expect(h.member('b').state.kind).toBe('unhealthy'); // not subject to the share
    vi.advanceTimersByTime(600_000);
    expect(h.member('a').state.kind).toBe('unhealthy'); // no timer: the checks decide
    h.check('a', false, 'connect ECONNREFUSED');
    expect(h.member('a').state).toMatchObject({ kind: 'unhealthy', since: t0, reason: 'health check failed: connect ECONNREFUSED' });
    h.check('a', true);
    expect(h.member('a').state.kind).toBe('unhealthy');
    h.check('a', true);
    expect(h.member('a').state.kind).toBe('healthy');
  });

  it('ends an ejection early once active checks that failed during it pass again, not while they only pass', () => {
    const h = new Harness().apply([{ name: 'a', checked: true }, { name: 'b', checked: true }, { name: 'c', checked: true }]);
    // Ejected for failing requests while its checks keep passing: it stays out its full time.
    h.failTimes('a', 5);
    expect(h.member('a').state).toEqual({ kind: 'ejected', until: t0 + 30_000 });
    h.check('a', true);
    h.check('a', true);
    expect(h.member('a').state.kind).toBe('ejected');
    vi.advanceTimersByTime(30_000);
    expect(h.member('a').state.kind).toBe('healthy');

    // Ejected, then its checks fail (it died) and pass again (it was restarted): back at once.
    h.failTimes('b', 5);
    expect(h.member('b').state.kind).toBe('ejected');
    for (let i = 0; i < 3; i++) h.check('b', false, 'connect ECONNREFUSED');
    expect(h.member('b').state).toMatchObject({ kind: 'unhealthy', reason: 'health check failed: connect ECONNREFUSED' });
    vi.advanceTimersByTime(5_000);
    h.check('b', true);
    expect(h.member('b').state.kind).toBe('unhealthy'); // one pass of the two the threshold asks
    h.check('b', true);
    expect(h.member('b').state.kind).toBe('healthy');
    expect(h.info).toHaveBeenCalledWith(expect.objectContaining({ member: 'b', to: 'healthy', reason: 'health checks pass again: ejection ended' }), 'member state changed');
    // The ejection timer of the early-ended ejection does nothing later.
    vi.advanceTimersByTime(120_000);
    expect(h.member('b').state.kind).toBe('healthy');
  });

  it('follows the control plane over everything else and keeps `since` while unhealthy', () => {
    const h = new Harness().apply([{ name: 'a', unhealthy: true, checked: true }, { name: 'b' }]);
    expect(h.member('a').state).toEqual({ kind: 'unhealthy', since: t0, reason: 'marked unhealthy by the control plane' });
    // Reports carry this runtime's own view, never the control plane's verdict echoed back.
    expect(h.tracker.reports()[0]).toEqual({ cluster: 'acme/pool/main', member: 'a', healthy: true, reason: 'ok' });
    for (let i = 0; i < 3; i++) h.check('a', false);
    expect(h.tracker.reports()[0]).toMatchObject({ healthy: false, reason: 'health check failed: status 500' });
    expect(h.member('a').state).toMatchObject({ reason: 'marked unhealthy by the control plane' });
    h.check('a', true);
    h.check('a', true);
    vi.advanceTimersByTime(1000);
    h.apply([{ name: 'a', unhealthy: true }, { name: 'b' }]);
    expect(h.member('a').state).toMatchObject({ since: t0 });
    h.apply([{ name: 'a' }, { name: 'b' }]);
    expect(h.member('a').state).toEqual({ kind: 'healthy' });
    expect(isUsable(h.member('a').state, Date.now())).toBe(true);
  });

  it('forgets removed members and reports only clusters in use', () => {
    const h = new Harness().apply([{ name: 'a' }, { name: 'x', cluster: 'acme/pool/idle' }]);
    h.failTimes('a', 3);
    expect(h.tracker.reports()).toEqual([{ cluster: 'acme/pool/main', member: 'a', healthy: true, reason: 'ok' }]);
    const kept = h.member('a');
    h.apply([{ name: 'a' }, { name: 'new' }]);
    expect(h.member('a')).toBe(kept);
    h.failTimes('a', 2); // the streak survives a config update
    expect(kept.state.kind).toBe('ejected');
    h.apply([{ name: 'new' }]);
    expect(h.tracker.state(kept.key)).toBeUndefined();
    expect(h.tracker.reports().map((r) => r.member)).toEqual(['new']);
  });

  it('tells listeners about every change, for prompt reports', () => {
    const h = new Harness().apply([{ name: 'a' }, { name: 'b' }]);
    h.changes.mockClear();
    h.tracker.refused(h.member('a'));
    expect(h.changes).toHaveBeenCalledTimes(1);
    h.tracker.refused(h.member('a')); // already out: nothing changes
    expect(h.changes).toHaveBeenCalledTimes(1);

    // A member the control plane holds down: its state stays, but what this runtime sees changes.
    const held = new Harness().apply([{ name: 'a', unhealthy: true, checked: true }, { name: 'b' }]);
    held.changes.mockClear();
    for (let i = 0; i < 3; i++) held.check('a', false);
    expect(held.changes).toHaveBeenCalledTimes(1);
    held.check('a', true);
    held.check('a', true);
    expect(held.changes).toHaveBeenCalledTimes(2);
  });
});
