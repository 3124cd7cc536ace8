import { useState } from 'preact/hooks';
import { call, messageOf, type Session } from '../api.ts';
import { Dialog } from '../gateways/dialog.tsx';
import { usePolling } from '../use-polling.ts';
import { RuntimeRow, type Runtime } from './runtime-row.tsx';
import { TableHead } from '../table-head.tsx';

function ConfirmRevoke({ node, onConfirm, onCancel }: { node: string; onConfirm: () => void; onCancel: () => void }) {
  return (
    <Dialog title={`Revoke runtime ${node}?`} kind="sheet" onClose={onCancel}>
      <p>
        Every controller closes its config stream within a second and refuses it from then on: it may not stream, renew its certificate or join again under
        this node id until it is readmitted. It keeps serving the config it has.
      </p>
      <button type="button" class="danger" onClick={onConfirm}>
        Revoke runtime
      </button>{' '}
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </Dialog>
  );
}

function RuntimeTable({ runtimes, mayRevoke, onRevoke }: { runtimes: readonly Runtime[]; mayRevoke: (r: Runtime) => boolean; onRevoke: (node: string) => void }) {
  return (
    <table>
      <caption class="visually-hidden">Runtimes</caption>
      <TableHead columns={['Runtime', 'State', 'Zone', 'Org', 'Labels', 'Controller', 'Applied revision', 'Lag', 'Last NACK', 'Certificate expires', '']} />
      <tbody>
        {runtimes.map((r) => (
          <RuntimeRow key={r.nodeId} runtime={r} mayRevoke={mayRevoke(r)} onRevoke={() => onRevoke(r.nodeId ?? '')} />
        ))}
      </tbody>
    </table>
  );
}

/**
 * Every runtime that serves the org (its own and shared ones), read again every 2 s: where
 * it streams from, what it applied and how far behind it is, what it last rejected.
 * `systemAdmin`: only a system administrator revokes a shared runtime, so no one else is
 * offered to.
 */
export function RuntimesPage({ session, systemAdmin }: { session: Session; systemAdmin: boolean }) {
  const runtimes = usePolling(() => call(session, 'get', '/v1/runtimes'), [session]);
  const [revoking, setRevoking] = useState<string | undefined>(undefined);
  const [message, setMessage] = useState<{ text: string; failed: boolean } | undefined>(undefined);
  const items = runtimes.data?.items ?? [];
  const revoke = async (node: string): Promise<void> => {
    setRevoking(undefined);
    try {
      await call(session, 'post', '/v1/runtimes/{node}/revoke', { params: { node } });
      setMessage({ text: `Runtime ${node} is revoked.`, failed: false });
    } catch (e) {
      setMessage({ text: messageOf(e), failed: true });
    }
    runtimes.reload();
  };
  const failure = message?.failed === true ? message.text : runtimes.error;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Runtimes</h1>
      {message?.failed === false && <p role="status">{message.text}</p>}
      {failure !== undefined && <p class="error" role="alert">{failure}</p>}
      <RuntimeTable runtimes={items} mayRevoke={(r) => !r.revoked && (systemAdmin || (r.org ?? null) !== null)} onRevoke={setRevoking} />
      {runtimes.data !== undefined && items.length === 0 && <p>No runtime has connected yet.</p>}
      {revoking !== undefined && <ConfirmRevoke node={revoking} onConfirm={() => void revoke(revoking)} onCancel={() => setRevoking(undefined)} />}
    </section>
  );
}
