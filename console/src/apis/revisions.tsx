import { useState } from 'preact/hooks';
import { call, messageOf, type Schemas, type Session } from '../api.ts';
import { Dialog } from '../gateways/dialog.tsx';
import { usePolling } from '../use-polling.ts';
import { shown, specDiff } from './spec-diff.ts';
import { TableHead } from '../table-head.tsx';

type Api = Schemas['Api'];

function DiffTable({ before, after, revision }: { before: unknown; after: unknown; revision: number }) {
  const diff = specDiff(before, after);
  if (diff.length === 0) return <p>Revision {revision} has the same spec as the current one.</p>;
  return (
    <table>
      <caption>Changes from revision {revision} to the current spec</caption>
      <TableHead columns={['Field', `Revision ${revision}`, 'Current']} />
      <tbody>
        {diff.map((d) => (
          <tr key={d.field}>
            <td>
              <code>{d.field}</code>
            </td>
            <td>{shown(d.before)}</td>
            <td>{shown(d.after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ConfirmRollback({ api, revision, onConfirm, onCancel }: { api: string; revision: number; onConfirm: () => void; onCancel: () => void }) {
  return (
    <Dialog title={`Roll ${api} back to revision ${revision}?`} kind="sheet" onClose={onCancel}>
      <p>Its spec is written again as a new revision and deployed to every runtime that serves it.</p>
      <button type="button" class="danger" onClick={onConfirm}>
        Roll back
      </button>{' '}
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </Dialog>
  );
}

/** Every revision of one API: pick one to see what differs from now, and roll back to it. */
export function Revisions({ session, api, onRolledBack }: { session: Session; api: Api; onRolledBack: () => void }) {
  const name = api.metadata?.name ?? '';
  const revisions = usePolling(() => call(session, 'get', '/v1/apis/{name}/revisions', { params: { name } }), [session, name, api.metadata?.revision]);
  const [chosen, setChosen] = useState<number | undefined>(undefined);
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const items = revisions.data?.items ?? [];
  const picked = items.find((r) => r.revision === chosen);
  const rollback = async (): Promise<void> => {
    setConfirming(false);
    try {
      const result = await call(session, 'post', '/v1/apis/{name}/rollback', { params: { name }, body: { revision: chosen ?? 0 } });
      setMessage(`Rolled back: revision ${result?.metadata?.revision ?? '?'} restores revision ${result?.status?.restoredRevision ?? chosen ?? '?'}.`);
      setChosen(undefined);
      onRolledBack();
    } catch (e) {
      setMessage(messageOf(e));
    }
  };
  return (
    <section aria-labelledby="revisions-title">
      <h3 id="revisions-title">Revisions</h3>
      {message !== undefined && <p role="status">{message}</p>}
      <div class="inline-form">
        <label for="revision">Compare with revision</label>
        <select id="revision" value={chosen ?? ''} onChange={(e) => setChosen(e.currentTarget.value === '' ? undefined : Number(e.currentTarget.value))}>
          <option value="">Choose a revision…</option>
          {items.map((r) => (
            <option key={r.revision} value={r.revision}>
              {r.revision}
              {r.revision === api.metadata?.revision ? ' (current)' : ''} — {r.createdAt === undefined ? '' : new Date(r.createdAt).toLocaleString()}
            </option>
          ))}
        </select>
        <button type="button" disabled={picked === undefined || chosen === api.metadata?.revision} onClick={() => setConfirming(true)}>
          Roll back to this revision
        </button>
      </div>
      {picked !== undefined && chosen !== undefined && <DiffTable before={picked.spec} after={api.spec} revision={chosen} />}
      {confirming && chosen !== undefined && <ConfirmRollback api={name} revision={chosen} onConfirm={() => void rollback()} onCancel={() => setConfirming(false)} />}
    </section>
  );
}
