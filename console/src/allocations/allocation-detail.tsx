import type { Session } from '../api.ts';
import { TableHead } from '../table-head.tsx';
import { AllocationBadge, at, StepBadge } from './allocation-badges.tsx';
import { ReleaseButton } from './release-button.tsx';
import type { Allocation } from './use-allocations.ts';

type Step = NonNullable<Allocation['steps']>[number];
type StepName = NonNullable<Step['step']>;

/** The forward steps in the order they run, so the ones not reached yet are listed too. */
const forward: readonly StepName[] = ['reserve', 'route', 'converge', 'handshake'];

function StepRow({ name, step }: { name: StepName; step: Step | undefined }) {
  return (
    <tr data-step={name}>
      <td>{name}</td>
      <td>
        <StepBadge state={step?.state} />
      </td>
      <td>{at(step?.startedAt)}</td>
      <td>{at(step?.finishedAt)}</td>
      <td>{step?.attempts ?? '—'}</td>
      <td>{step?.controller ?? '—'}</td>
      <td>
        {typeof step?.error === 'string' && <span class="error">{step.error} </span>}
        {typeof step?.detail === 'string' && <span class="reason">{step.detail}</span>}
      </td>
    </tr>
  );
}

function StepTable({ caption, rows }: { caption: string; rows: readonly { name: StepName; step: Step | undefined; key: string }[] }) {
  return (
    <table>
      <caption>{caption}</caption>
      <TableHead columns={['Step', 'State', 'Started', 'Ended', 'Attempts', 'Controller', 'Error or detail']} />
      <tbody>
        {rows.map((r) => (
          <StepRow key={r.key} name={r.name} step={r.step} />
        ))}
      </tbody>
    </table>
  );
}

/** What the undos came to, in the operator's words. */
function outcome(a: Allocation): string | undefined {
  const gateway = a.gateway ?? 'the gateway';
  switch (a.state) {
    case 'rolling-back':
      return 'Rolling back: undoing the steps done, newest first.';
    case 'rolled-back':
      return `Rolled back: every step done was undone; ${gateway} is free again.`;
    case 'releasing':
      return 'Releasing: undoing every step, newest first.';
    case 'released':
      return `Released: the route is gone and ${gateway} is back in pool ${a.pool ?? ''}.`;
    case 'failed':
      return `An undo failed after its retries: ${gateway} is quarantined until it is seen healthy again. Release retries the undos that failed.`;
    default:
      return undefined;
  }
}

function AllocationFields({ allocation: a }: { allocation: Allocation }) {
  return (
    <dl class="fields">
      <dt>State</dt>
      <dd>
        <AllocationBadge state={a.state} />
      </dd>
      <dt>Tenant</dt>
      <dd>{a.tenant}</dd>
      <dt>Host</dt>
      <dd>{a.host}</dd>
      <dt>Pool</dt>
      <dd>{a.pool}</dd>
      <dt>Gateway</dt>
      <dd>{a.gateway ?? '—'}</dd>
      <dt>Created</dt>
      <dd>{at(a.createdAt)}</dd>
      <dt>Finished</dt>
      <dd>{at(a.finishedAt)}</dd>
      {a.error !== null && a.error !== undefined && (
        <>
          <dt>Failed with</dt>
          <dd class="error">
            {a.error.code}: {a.error.message}
          </dd>
        </>
      )}
    </dl>
  );
}

export interface AllocationDetailProps {
  readonly session: Session;
  readonly allocation: Allocation;
  readonly onBusy: (busy: boolean) => void;
  readonly onClose: () => void;
}

/** One allocation: its fields, each step, the undos step by step, and Release. */
export function AllocationDetail({ session, allocation: a, onBusy, onClose }: AllocationDetailProps) {
  const steps = a.steps ?? [];
  const done = forward.map((name) => ({ name, key: name, step: steps.findLast((s) => s.direction === 'do' && s.step === name) }));
  const undos = steps.filter((s) => s.direction === 'undo').map((s) => ({ name: s.step ?? 'reserve', key: String(s.seq), step: s }));
  // An allocation that failed forward was rolled back; one that never did was released.
  const undoCaption = a.error === null || a.error === undefined ? 'Release, step by step' : 'Rollback, step by step';
  const note = outcome(a);
  return (
    <section class="detail" aria-labelledby="allocation-title">
      <div class="panel-head">
        <h2 id="allocation-title">Allocation {a.id}</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <AllocationFields allocation={a} />
      <StepTable caption="Steps" rows={done} />
      {undos.length > 0 && <StepTable caption={undoCaption} rows={undos} />}
      {note !== undefined && <p role="status">{note}</p>}
      {(a.state === 'ready' || a.state === 'failed' || a.state === 'releasing') && <ReleaseButton session={session} allocation={a} onBusy={onBusy} />}
    </section>
  );
}
