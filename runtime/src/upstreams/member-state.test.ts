import { describe, expect, it } from 'vitest';
import { MemberHealth } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { controlPlaneReason, isUsable, MemberStates } from './member-state.ts';

describe('member states', () => {
  it('follows the control plane and keeps `since` while a member stays unhealthy', () => {
    const states = new MemberStates();
    const first = states.plan(100);
    const live = first.member('m', MemberHealth.UNHEALTHY);
    expect(live.state).toEqual({ kind: 'healthy' }); // nothing changes before commit
    first.commit();
    expect(live.state).toEqual({ kind: 'unhealthy', since: 100, reason: controlPlaneReason });

    const second = states.plan(200);
    expect(second.member('m', MemberHealth.UNHEALTHY)).toBe(live);
    second.commit();
    expect(live.state).toEqual({ kind: 'unhealthy', since: 100, reason: controlPlaneReason });

    const third = states.plan(300);
    third.member('m', MemberHealth.HEALTHY);
    third.commit();
    expect(live.state).toEqual({ kind: 'healthy' });
  });

  it('forgets members a committed plan does not contain', () => {
    const states = new MemberStates();
    const first = states.plan(0);
    first.member('gone', MemberHealth.HEALTHY);
    first.commit();
    const second = states.plan(0);
    second.member('kept', MemberHealth.HEALTHY);
    second.commit();
    expect(states.state('gone')).toBeUndefined();
    expect(states.state('kept')).toEqual({ kind: 'healthy' });
  });

  it('treats an ejection as over once its time has passed', () => {
    expect(isUsable({ kind: 'ejected', until: 50 }, 49)).toBe(false);
    expect(isUsable({ kind: 'ejected', until: 50 }, 50)).toBe(true);
    expect(isUsable({ kind: 'unhealthy', since: 0, reason: 'x' }, 1e12)).toBe(false);
  });
});
