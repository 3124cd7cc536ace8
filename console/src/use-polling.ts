import { useCallback, useEffect, useState } from 'preact/hooks';
import { messageOf } from './api.ts';

/** Health changes without anyone asking: pages read again every 2 s. */
const REFRESH_MS = 2_000;

export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  /** Read again now (after a change made here). */
  readonly reload: () => void;
}

/** `load` now and every REFRESH_MS while mounted; the last good answer stays shown if one fails. */
export function usePolling<T>(load: () => Promise<T>, deps: readonly unknown[]): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    const run = (): void => {
      load().then(
        (value) => live && (setData(value), setError(undefined)),
        (e: unknown) => live && setError(messageOf(e)),
      );
    };
    run();
    const timer = setInterval(run, REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
    // `deps`: what `load` reads, named by the caller.
  }, [...deps, tick]);
  return { data, error, reload };
}
