import { useState } from 'preact/hooks';
import { messageOf } from '../api.ts';

export interface ConfirmedAction<T> {
  /** The item whose action waits for a confirmation, if one does. */
  readonly pending: T | undefined;
  readonly error: string | undefined;
  ask(item: T): void;
  cancel(): void;
  /** Runs the action on the item asked about, keeps its error, and reads the list again. */
  confirm(item: T): Promise<void>;
}

/** An action on one item of a list (revoke, delete) that is asked once more first. */
export function useConfirmedAction<T>(act: (item: T) => Promise<unknown>, reload: () => void): ConfirmedAction<T> {
  const [pending, setPending] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  return {
    pending,
    error,
    ask: setPending,
    cancel: () => setPending(undefined),
    async confirm(item) {
      setPending(undefined);
      try {
        await act(item);
        setError(undefined);
      } catch (e) {
        setError(messageOf(e));
      }
      reload();
    },
  };
}
