/**
 * Named points where a test can make this process fail a step (`error`) or die at once
 * (`exit`: SIGKILL, no clean-up, as when a machine dies), set through
 * CAUSEWAY_FAILPOINTS (`mutation.before-commit=exit,allocation.undo-route=error`). A test
 * facility: without the variable every point is one comparison with undefined.
 */
export const failpointNames = ['mutation.before-commit'] as const;
export type FailpointName = (typeof failpointNames)[number];
export type FailpointAction = 'error' | 'exit';

let active: ReadonlyMap<string, FailpointAction> | undefined;

class FailpointError extends Error {
  override readonly name = 'FailpointError';
  constructor(point: string) {
    super(`failpoint ${point}`);
  }
}

/** Set once at start-up from the configuration; an empty map turns every point off. */
export function configureFailpoints(points: ReadonlyMap<string, FailpointAction>): void {
  active = points.size === 0 ? undefined : points;
}

export function failpoint(name: FailpointName): void {
  if (active === undefined) return;
  const action = active.get(name);
  if (action === 'error') throw new FailpointError(name);
  if (action === 'exit') process.kill(process.pid, 'SIGKILL');
}
