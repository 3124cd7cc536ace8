import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/** A modal panel (a side drawer or a detail sheet): labelled, focused when opened, closed by Escape. */
export function Dialog({ title, kind, onClose, children }: { title: string; kind: 'drawer' | 'sheet'; onClose: () => void; children: ComponentChildren }) {
  const panel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    panel.current?.focus();
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);
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
