import type { StepName, StepRecord } from '../store/allocations.ts';

/** The steps of an allocation, in the order they run. */
export const forwardSteps: readonly StepName[] = ['reserve', 'route', 'converge', 'handshake'];

/**
 * How each step is undone. `atomic`: the step's effect and its `done` record commit in one
 * transaction, so a step not recorded done provably did nothing and needs no undo. The
 * others act outside the database (or may have: a handshake that timed out may have been
 * received), so any step that started is undone; every undo is idempotent.
 */
const undoOf: Readonly<Record<StepName, { readonly undo: boolean; readonly atomic: boolean }>> = {
  reserve: { undo: true, atomic: true },
  route: { undo: true, atomic: false },
  // Nothing to undo: the route's removal is pushed by the route's undo.
  converge: { undo: false, atomic: false },
  handshake: { undo: true, atomic: false },
};

/**
 * The undos still to run, in reverse order of the steps: for each step that started (or,
 * for an atomic one, completed), unless its undo already completed. A crash anywhere
 * leaves a log from which this gives what remains, so a replica taking over never
 * re-runs a forward step and never skips an undo.
 */
export function undoPlan(steps: readonly StepRecord[]): StepName[] {
  const undone = new Set(steps.filter((s) => s.direction === 'undo' && s.state === 'done').map((s) => s.step));
  const needed = forwardSteps.filter((step) => {
    const rule = undoOf[step];
    if (!rule.undo || undone.has(step)) return false;
    const tries = steps.filter((s) => s.direction === 'do' && s.step === step);
    return rule.atomic ? tries.some((s) => s.state === 'done') : tries.length > 0;
  });
  return needed.reverse();
}
