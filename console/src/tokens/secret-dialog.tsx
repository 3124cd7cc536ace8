import { useRef, useState } from 'preact/hooks';
import { Dialog } from '../gateways/dialog.tsx';

/**
 * A secret the API answers once. It lives in the state of whoever opened this dialog and
 * nowhere else: they drop it when it closes, so it leaves the page with the dialog.
 */
export function SecretDialog({ title, secret, onClose }: { title: string; secret: string; onClose: () => void }) {
  const [copied, setCopied] = useState<string | undefined>(undefined);
  const code = useRef<HTMLElement>(null);
  const copy = async (): Promise<void> => {
    // The Clipboard API exists in secure contexts only (HTTPS, or the loopback address).
    if (window.isSecureContext && navigator.clipboard !== undefined) {
      try {
        await navigator.clipboard.writeText(secret);
        setCopied('Copied to the clipboard.');
        return;
      } catch {
        // Refused by the browser: fall back to selecting it.
      }
    }
    const selection = window.getSelection();
    if (code.current !== null && selection !== null) {
      selection.selectAllChildren(code.current);
      setCopied('Selected: press Ctrl+C (⌘C) to copy it.');
    }
  };
  return (
    <Dialog title={title} kind="sheet" onClose={onClose}>
      <p class="warning">
        <strong>Copy it now: you will not see it again.</strong> Causeway keeps only a digest of it; a lost secret means a new token.
      </p>
      <p class="secret">
        <code ref={code} data-testid="secret">
          {secret}
        </code>
      </p>
      <button type="button" onClick={() => void copy()}>
        Copy
      </button>{' '}
      <span role="status">{copied}</span>
    </Dialog>
  );
}
