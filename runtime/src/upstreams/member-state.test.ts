import { describe, expect, it } from 'vitest';
import { isUsable, memberKey } from './member-state.ts';

describe('member state', () => {
  it('treats an ejection as over once its time has passed', () => {
    expect(isUsable({ kind: 'healthy' }, 0)).toBe(true);
    expect(isUsable({ kind: 'ejected', until: 50 }, 49)).toBe(false);
    expect(isUsable({ kind: 'ejected', until: 50 }, 50)).toBe(true);
    expect(isUsable({ kind: 'unhealthy', since: 0, reason: 'x' }, 1e12)).toBe(false);
  });

  it('keys a member by cluster, name and URL', () => {
    expect(memberKey('c', 'm', 'http://a')).not.toBe(memberKey('c', 'm', 'http://b'));
    expect(memberKey('c', 'm', 'http://a')).toBe(memberKey('c', 'm', 'http://a'));
  });
});
