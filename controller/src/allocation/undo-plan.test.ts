import { describe, expect, it } from 'vitest';
import type { Direction, StepName, StepRecord, StepState } from '../store/allocations.ts';
import { undoPlan } from './undo-plan.ts';

function log(...entries: [StepName, Direction, StepState][]): StepRecord[] {
  return entries.map(([step, direction, state], i) => ({
    seq: i + 1,
    step,
    direction,
    state,
    attempts: 1,
    controller: 'c1',
    startedAt: new Date(0),
    finishedAt: null,
    error: null,
    detail: null,
  }));
}

describe('undoPlan', () => {
  it('undoes every completed step in reverse order, converge having no undo', () => {
    const steps = log(['reserve', 'do', 'done'], ['route', 'do', 'done'], ['converge', 'do', 'done'], ['handshake', 'do', 'done']);
    expect(undoPlan(steps)).toEqual(['handshake', 'route', 'reserve']);
  });

  it('undoes a handshake that failed or was cut short: the gateway may have received it', () => {
    expect(undoPlan(log(['reserve', 'do', 'done'], ['route', 'do', 'done'], ['converge', 'do', 'done'], ['handshake', 'do', 'failed']))).toEqual(['handshake', 'route', 'reserve']);
    expect(undoPlan(log(['reserve', 'do', 'done'], ['route', 'do', 'done'], ['converge', 'do', 'done'], ['handshake', 'do', 'running']))).toEqual(['handshake', 'route', 'reserve']);
  });

  it('leaves alone a reservation that was never recorded done: it committed with its record or not at all', () => {
    expect(undoPlan(log(['reserve', 'do', 'failed']))).toEqual([]);
    expect(undoPlan(log(['reserve', 'do', 'running']))).toEqual([]);
    expect(undoPlan(log(['reserve', 'do', 'done'], ['route', 'do', 'failed']))).toEqual(['route', 'reserve']);
  });

  it('after a crash in the rollback, gives only the undos that did not complete', () => {
    const steps = log(
      ['reserve', 'do', 'done'],
      ['route', 'do', 'done'],
      ['converge', 'do', 'failed'],
      ['route', 'undo', 'failed'],
      ['route', 'undo', 'done'],
      ['reserve', 'undo', 'running'],
    );
    expect(undoPlan(steps)).toEqual(['reserve']);
  });

  it('a release of a failed allocation retries the undo that failed, not those that succeeded', () => {
    const steps = log(['reserve', 'do', 'done'], ['route', 'do', 'done'], ['converge', 'do', 'done'], ['handshake', 'do', 'done'], ['handshake', 'undo', 'done'], ['route', 'undo', 'failed'], ['reserve', 'undo', 'done']);
    expect(undoPlan(steps)).toEqual(['route']);
  });
});
