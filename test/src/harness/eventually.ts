import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retries `check` until it stops throwing: a test waits for an event to be visible
 * instead of sleeping a fixed time. The last failure is rethrown when time runs out.
 */
export async function eventually<T>(
  check: () => Promise<T> | T,
  options: { timeoutMs?: number; intervalMs?: number; message?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = options.message?.() ?? '';
      const reason = lastError instanceof Error ? lastError.message : String(lastError);
      throw new Error(`condition not met in ${options.timeoutMs ?? 10_000} ms: ${reason}${detail === '' ? '' : `\n${detail}`}`, { cause: lastError });
    }
    await sleep(options.intervalMs ?? 50);
  }
}
