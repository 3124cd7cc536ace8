import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

const focusable = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Tab and Shift+Tab go round the panel's own controls, never to the page behind it. */
function keepFocusInside(panel: HTMLElement, event: KeyboardEvent): void {
  const controls = [...panel.querySelectorAll<HTMLElement>(focusable)];
  const first = controls[0];
  const last = controls[controls.length - 1];
  if (first === undefined || last === undefined) {
    event.preventDefault();
    return;
  }
  const active = document.activeElement;
  if (event.shiftKey && (active === first || active === panel)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (active === last || !panel.contains(active))) {
    event.preventDefault();
    first.focus();
  }
}

/**
 * A modal panel (a side drawer or a detail sheet): labelled, focused when opened, focus kept
 * inside while open and handed back to what opened it when closed, closed by Escape.
 */
export function Dialog({ title, kind, onClose, children }: { title: string; kind: 'drawer' | 'sheet'; onClose: () => void; children: ComponentChildren }) {
  const panel = useRef<HTMLDivElement>(null);
  // The latest onClose: pages re-render (and pass a new one) on every refresh, which must not move the focus.
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
    panel.current?.focus();
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') close.current();
      else if (event.key === 'Tab' && panel.current !== null) keepFocusInside(panel.current, event);
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      if (opener?.isConnected === true) opener.focus();
    };
  }, []);
  const id = `${kind}-title`;
  return (
    <div class="overlay">
      <div class={`panel ${kind}`} role="dialog" aria-modal="true" aria-labelledby={id} tabIndex={-1} ref={panel}>
        <div class="panel-head">
          <h2 id={id}>{title}</h2>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
        {children}
      </div>
    </div>
  );
}
