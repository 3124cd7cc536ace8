import { describe, expect, it } from 'vitest';
import { LbPolicy } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { groupTiers, hasUsable, pickCandidate, usableCount, type BalancerState } from './balancer.ts';
import type { LiveMember } from './member-state.ts';

interface TestMember {
  readonly name: string;
  readonly zone: string;
  readonly priority: number;
  readonly live: LiveMember;
}

function members(specs: readonly { name: string; zone: string; priority?: number; unhealthy?: boolean }[]): TestMember[] {
  return specs.map((s) => ({
    name: s.name,
    zone: s.zone,
    priority: s.priority ?? 0,
    live: {
      key: s.name,
      state: s.unhealthy === true ? { kind: 'unhealthy', since: 0, reason: 'down' } : { kind: 'healthy' },
      activeRequests: 0,
    },
  }));
}

/** Tiers of one zone's members (zone choice is target-choice's job). */
function tiersFor(list: readonly TestMember[]) {
  return groupTiers(list, (m) => m.priority);
}

const random = (): BalancerState => ({ policy: LbPolicy.RANDOM, cursor: 0 });

/** A deterministic sequence of "random" numbers. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

describe('member choice', () => {
  it('skips members the control plane marked unhealthy', () => {
    const list = members([
      { name: 'a', zone: 'eu-1', unhealthy: true },
      { name: 'b', zone: 'eu-1' },
      { name: 'c', zone: 'eu-1', unhealthy: true },
    ]);
    const tiers = tiersFor(list);
    for (let i = 0; i < 20; i++) expect(pickCandidate(tiers, random(), [], 0, Math.random)?.name).toBe('b');
    expect(usableCount(list, 0)).toBe(1);
    expect(hasUsable(tiers, 0)).toBe(true);
  });

  it('finds nothing when every member is unhealthy', () => {
    const list = members([{ name: 'a', zone: 'eu-1', unhealthy: true }, { name: 'b', zone: 'eu-1', priority: 1, unhealthy: true }]);
    const tiers = tiersFor(list);
    expect(pickCandidate(tiers, random(), [], 0, Math.random)).toBeUndefined();
    expect(usableCount(list, 0)).toBe(0);
    expect(hasUsable(tiers, 0)).toBe(false);
  });

  it('falls back to a higher priority only when the lower one has no usable member', () => {
    const tiers = tiersFor(members([
      { name: 'backup', zone: 'eu-1', priority: 1 },
      { name: 'primary', zone: 'eu-1', priority: 0, unhealthy: true },
    ]));
    expect(pickCandidate(tiers, random(), [], 0, Math.random)?.name).toBe('backup');
  });

  it('spreads requests at random over the usable members', () => {
    const tiers = tiersFor(members(['a', 'b', 'c', 'd'].map((name) => ({ name, zone: 'eu-1' }))));
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const name = pickCandidate(tiers, random(), [], 0, Math.random)?.name ?? '';
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
  });

  it('maps the random number onto the usable members only', () => {
    const tiers = tiersFor(members([
      { name: 'a', zone: 'eu-1' },
      { name: 'down', zone: 'eu-1', unhealthy: true },
      { name: 'c', zone: 'eu-1' },
    ]));
    expect(pickCandidate(tiers, random(), [], 0, sequence(0.99))?.name).toBe('c');
    expect(pickCandidate(tiers, random(), [], 0, sequence(0))?.name).toBe('a');
  });

  it('never picks a member already tried', () => {
    const list = members([{ name: 'a', zone: 'eu-1' }, { name: 'b', zone: 'eu-1' }, { name: 'c', zone: 'eu-1', priority: 1 }]);
    const tiers = tiersFor(list);
    const tried = list.filter((m) => m.name === 'a');
    for (let i = 0; i < 20; i++) expect(pickCandidate(tiers, random(), tried, 0, Math.random)?.name).toBe('b');
    expect(pickCandidate(tiers, random(), list.slice(0, 2), 0, Math.random)?.name).toBe('c');
    expect(pickCandidate(tiers, random(), list, 0, Math.random)).toBeUndefined();
  });

  it('prefers a lower priority within the local zone', () => {
    const tiers = tiersFor(members([{ name: 'backup', zone: 'eu-1', priority: 1 }, { name: 'primary', zone: 'eu-1', priority: 0 }]));
    for (let i = 0; i < 10; i++) expect(pickCandidate(tiers, random(), [], 0, Math.random)?.name).toBe('primary');
  });

  it('rotates with round-robin', () => {
    const tiers = tiersFor(members(['a', 'b', 'c'].map((name) => ({ name, zone: 'eu-1' }))));
    const state: BalancerState = { policy: LbPolicy.ROUND_ROBIN, cursor: 0 };
    const picks = Array.from({ length: 6 }, () => pickCandidate(tiers, state, [], 0, Math.random)?.name);
    expect(picks).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('takes the less busy of two choices with least-request', () => {
    const list = members([{ name: 'busy', zone: 'eu-1' }, { name: 'idle', zone: 'eu-1' }]);
    const busy = list[0];
    if (busy === undefined) throw new Error('no member');
    busy.live.activeRequests = 5;
    const tiers = tiersFor(list);
    const state: BalancerState = { policy: LbPolicy.LEAST_REQUEST, cursor: 0 };
    for (let i = 0; i < 10; i++) expect(pickCandidate(tiers, state, [], 0, Math.random)?.name).toBe('idle');
  });
});
