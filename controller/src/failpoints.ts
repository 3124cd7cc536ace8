/**
 * Named points where a test can make this process fail a step (`error`) or die at once
 * (`exit`: SIGKILL, no clean-up, as when a machine dies), set through
 * CAUSEWAY_FAILPOINTS (`allocation.after-route=exit,allocation.undo-route=2*error`; `N*`
 * acts the first N times only, as gofail's `2*return`). A test facility: without the
 * variable every point is one comparison with undefined.
 */
export const failpointNames = [
  'mutation.before-commit',
  // After each step of an allocation has been recorded done ...
  'allocation.after-reserve',
  'allocation.after-route',
  'allocation.after-converge',
  'allocation.after-handshake',
  // ... and at each attempt of an undo, before it runs.
  'allocation.undo-handshake',
  'allocation.undo-route',
  'allocation.undo-reserve',
] as const;
export type FailpointName = (typeof failpointNames)[number];
type FailpointAction = 'error' | 'exit';

export interface FailpointSetting {
  readonly action: FailpointAction;
  /** Acts this many times, then never again; undefined: every time. */
  readonly times: number | undefined;
}

/** `name=error`, `name=exit` or `name=N*error`: the point and what it does, or undefined when that is not one. */
export function parseFailpoint(text: string): { name: FailpointName; setting: FailpointSetting } | undefined {
  const match = /^([a-z.-]+)=(?:(\d{1,6})\*)?(error|exit)$/.exec(text);
  const name = match?.[1];
  if (match === null || name === undefined || !(failpointNames as readonly string[]).includes(name)) return undefined;
  const times = match[2] === undefined ? undefined : Number(match[2]);
  return { name: name as FailpointName, setting: { action: match[3] as FailpointAction, times } };
}

let active: Map<string, { action: FailpointAction; left: number }> | undefined;

class FailpointError extends Error {
  override readonly name = 'FailpointError';
  constructor(point: string) {
    super(`failpoint ${point}`);
  }
}

/** Set once at start-up from the configuration; an empty map turns every point off. */
export function configureFailpoints(points: ReadonlyMap<string, FailpointSetting>): void {
  active = points.size === 0 ? undefined : new Map([...points].map(([name, s]) => [name, { action: s.action, left: s.times ?? Infinity }]));
}

export function failpoint(name: FailpointName): void {
  if (active === undefined) return;
  const point = active.get(name);
  if (point === undefined || point.left <= 0) return;
  point.left--;
  if (point.action === 'error') throw new FailpointError(name);
  process.kill(process.pid, 'SIGKILL');
}
