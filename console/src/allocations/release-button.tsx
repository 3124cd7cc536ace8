import { useState } from 'preact/hooks';
import { call, messageOf, type Session } from '../api.ts';
import { ConfirmDialog } from '../tokens/confirm-dialog.tsx';
import type { Allocation } from './use-allocations.ts';

/**
 * Release after a confirmation. The request runs every undo, so the page is told it is busy
 * meanwhile; the button stays (disabled) while the allocation is releasing, to show the outcome.
 */
export function ReleaseButton({ session, allocation: a, onBusy }: { session: Session; allocation: Allocation; onBusy: (busy: boolean) => void }) {
  const [confirming, setConfirming] = useState(false);
  const [releasing, setReleasing] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const release = async (): Promise<void> => {
    setConfirming(false);
    setReleasing(true);
    onBusy(true);
    try {
      await call(session, 'delete', '/v1/allocations/{id}', { params: { id: a.id ?? '' } });
      setError(undefined);
    } catch (e) {
      setError(messageOf(e));
    }
    setReleasing(false);
    onBusy(false);
  };
  return (
    <>
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="button" class="danger" disabled={releasing || a.state === 'releasing'} onClick={() => setConfirming(true)}>
        {releasing || a.state === 'releasing' ? 'Releasing…' : 'Release'}
      </button>
      {confirming && (
        <ConfirmDialog title={`Release the gateway of ${a.tenant ?? ''}?`} action="Release" onConfirm={() => void release()} onCancel={() => setConfirming(false)}>
          <p>
            The route of {a.host} is removed from every runtime, {a.gateway ?? 'the gateway'} is told its tenant is gone, and it goes back to pool {a.pool}.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
