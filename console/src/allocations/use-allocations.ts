import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { call, messageOf, type Session } from '../api.ts';
import type { operations } from '../gen/admin-api.ts';

export type Allocation = operations['getAllocation']['responses'][200]['content']['application/json'];
export type AllocationState = NonNullable<Allocation['state']>;

/** An allocation whose steps or undos are running: its state changes without anyone asking. */
function isMoving(state: AllocationState | undefined): boolean {
  return state === 'pending' || state === 'rolling-back' || state === 'releasing';
}

/** Settled lists are read every 2 s, like the other pages; moving ones often enough to see each step. */
const SETTLED_MS = 2_000;
const MOVING_MS = 500;

export interface LiveAllocations {
  readonly items: readonly Allocation[] | undefined;
  /** Where the next (older) page starts; undefined on the last page. */
  readonly nextCursor: string | undefined;
  readonly error: string | undefined;
  readonly reload: () => void;
}

/** Rows on a page of the list. */
const PAGE_SIZE = 50;

/**
 * One page of the org's allocations (the newest, or the one after `cursor`), read again
 * faster while one of them moves or while `busy` (a request of this page, which may create
 * one, is in flight). Answers that arrive out of order never replace a newer one.
 */
export function useAllocations(session: Session, busy: boolean, cursor: string | undefined): LiveAllocations {
  // The page as last read, with the cursor it was read at: a page of another cursor is not shown.
  const [page, setPage] = useState<{ cursor: string | undefined; items: readonly Allocation[]; next: string | undefined } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const sent = useRef(0);
  const shown = useRef(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = page?.cursor === cursor ? page : undefined;
  const fast = busy || (current?.items ?? []).some((a) => isMoving(a.state));
  useEffect(() => {
    let live = true;
    const run = (): void => {
      const seq = ++sent.current;
      call(session, 'get', '/v1/allocations', { query: { limit: String(PAGE_SIZE), cursor } }).then(
        (list) => {
          if (!live || seq < shown.current) return;
          shown.current = seq;
          setPage({ cursor, items: list?.items ?? [], next: list?.nextCursor ?? undefined });
          setError(undefined);
        },
        (e: unknown) => live && setError(messageOf(e)),
      );
    };
    run();
    const timer = setInterval(run, fast ? MOVING_MS : SETTLED_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [session, fast, tick, cursor]);
  return { items: current?.items, nextCursor: current?.next, error, reload };
}
