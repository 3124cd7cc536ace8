import { useCallback, useState } from 'preact/hooks';

/** Where a paged list is: the cursors of the pages seen so far, since going back needs the one before. */
export interface CursorPages {
  /** The cursor of the page shown (undefined: the first page). */
  readonly cursor: string | undefined;
  /** 1 for the first page. */
  readonly number: number;
  readonly forward: (next: string) => void;
  readonly back: () => void;
  readonly first: () => void;
}

export function useCursorPages(): CursorPages {
  const [cursors, setCursors] = useState<readonly (string | undefined)[]>([undefined]);
  const forward = useCallback((next: string) => setCursors((c) => [...c, next]), []);
  const back = useCallback(() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)), []);
  const first = useCallback(() => setCursors([undefined]), []);
  return { cursor: cursors[cursors.length - 1], number: cursors.length, forward, back, first };
}

export interface PageNavProps {
  /** The navigation's accessible name ("Audit pages"). */
  readonly label: string;
  readonly pages: CursorPages;
  /** The next page's cursor, once the page shown has arrived and has one. */
  readonly next: string | undefined;
  /** What the two buttons say: towards the first page, then away from it. */
  readonly words: readonly [string, string];
}

/** Back, the page number, and forward; forward only once the page shown says where the next starts. */
export function PageNav({ label, pages, next, words }: PageNavProps) {
  return (
    <nav class="inline-form" aria-label={label}>
      <button type="button" disabled={pages.number <= 1} onClick={pages.back}>
        {words[0]}
      </button>
      <span>Page {pages.number}</span>
      <button type="button" disabled={next === undefined} onClick={() => next !== undefined && pages.forward(next)}>
        {words[1]}
      </button>
    </nav>
  );
}
