import { describe, expect, it } from 'vitest';
import { Dispatchers } from './dispatchers.ts';

describe('dispatchers', () => {
  it('reuses the pool of an unchanged member origin across config builds and closes removed ones', async () => {
    const dispatchers = new Dispatchers();
    const first = dispatchers.plan();
    const kept = first.get('http://10.0.0.1:80', 5000);
    const dropped = first.get('http://10.0.0.2:80', 5000);
    expect(first.get('http://10.0.0.1:80', 5000)).toBe(kept);
    await dispatchers.commit(first);

    const second = dispatchers.plan();
    expect(second.get('http://10.0.0.1:80', 5000)).toBe(kept);
    const otherTimeout = second.get('http://10.0.0.1:80', 1000);
    expect(otherTimeout).not.toBe(kept);
    await dispatchers.commit(second);
    expect(dropped.closed).toBe(true);
    expect(kept.closed).toBe(false);
    expect(dispatchers.size).toBe(2);

    const abandoned = dispatchers.plan();
    const unused = abandoned.get('http://10.0.0.3:80', 5000);
    expect(abandoned.get('http://10.0.0.1:80', 5000)).toBe(kept);
    await dispatchers.abandon(abandoned);
    expect(unused.closed).toBe(true);
    expect(kept.closed).toBe(false);

    await dispatchers.close();
    expect(kept.closed && otherTimeout.closed).toBe(true);
  });
});
