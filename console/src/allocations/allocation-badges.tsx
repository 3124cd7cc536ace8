import type { Allocation, AllocationState } from './use-allocations.ts';

type StepState = NonNullable<NonNullable<Allocation['steps']>[number]['state']>;

const stateTones: Record<AllocationState, string> = {
  pending: 'blue',
  ready: 'green',
  'rolling-back': 'yellow',
  'rolled-back': 'grey',
  releasing: 'yellow',
  released: 'grey',
  failed: 'red',
};

const stepTones: Record<StepState, string> = { running: 'blue', done: 'green', failed: 'red' };

export function AllocationBadge({ state }: { state: AllocationState | undefined }) {
  return (
    <span class={`badge ${state === undefined ? 'grey' : stateTones[state]}`} data-testid="allocation-state">
      {state ?? 'unknown'}
    </span>
  );
}

/** A step never started shows as such: the forward steps are listed even before they run. */
export function StepBadge({ state }: { state: StepState | undefined }) {
  return <span class={`badge ${state === undefined ? 'grey' : stepTones[state]}`}>{state ?? 'not run'}</span>;
}

export function at(value: string | null | undefined): string {
  return value === null || value === undefined ? '—' : new Date(value).toLocaleString();
}
