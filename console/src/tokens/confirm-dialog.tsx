import type { ComponentChildren } from 'preact';
import { Dialog } from '../gateways/dialog.tsx';

/** Asks before something that cannot be taken back; nothing is sent until the operator confirms. */
export function ConfirmDialog({ title, action, onConfirm, onCancel, children }: { title: string; action: string; onConfirm: () => void; onCancel: () => void; children: ComponentChildren }) {
  return (
    <Dialog title={title} kind="sheet" onClose={onCancel}>
      {children}
      <button type="button" class="danger" onClick={onConfirm}>
        {action}
      </button>{' '}
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </Dialog>
  );
}
