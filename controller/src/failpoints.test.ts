import { afterEach, describe, expect, it } from 'vitest';
import { configureFailpoints, failpoint, parseFailpoint } from './failpoints.ts';

describe('failpoints', () => {
  afterEach(() => configureFailpoints(new Map()));

  it('parses name=error, name=exit and name=N*error, and nothing else', () => {
    expect(parseFailpoint('allocation.after-route=exit')).toEqual({ name: 'allocation.after-route', setting: { action: 'exit', times: undefined } });
    expect(parseFailpoint('allocation.undo-route=2*error')).toEqual({ name: 'allocation.undo-route', setting: { action: 'error', times: 2 } });
    for (const bad of ['allocation.undo-route', 'allocation.undo-route=panic', 'no.such-point=error', 'allocation.undo-route=*error', 'allocation.undo-route=error*2']) {
      expect(parseFailpoint(bad), bad).toBeUndefined();
    }
  });

  it('fails the first N times only, then never again', () => {
    const point = parseFailpoint('allocation.undo-route=2*error');
    if (point === undefined) throw new Error('not parsed');
    configureFailpoints(new Map([[point.name, point.setting]]));
    expect(() => failpoint('allocation.undo-route')).toThrow('failpoint allocation.undo-route');
    expect(() => failpoint('allocation.undo-route')).toThrow('failpoint allocation.undo-route');
    expect(() => failpoint('allocation.undo-route')).not.toThrow();
    // Other points are off.
    expect(() => failpoint('allocation.undo-reserve')).not.toThrow();
  });

  it('is inert when none is configured', () => {
    expect(() => failpoint('allocation.after-route')).not.toThrow();
  });
});
