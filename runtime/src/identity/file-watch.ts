import { unwatchFile, watchFile, type Stats } from 'node:fs';

/**
 * Calls `onChange` when any of the files changes (size, time or inode, so a Kubernetes
 * secret's symlink swap counts), polled every `intervalMs`. Returns the stop function.
 */
export function watchFiles(files: readonly string[], intervalMs: number, onChange: () => void): () => void {
  const listener = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size) onChange();
  };
  for (const file of files) watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => {
    for (const file of files) unwatchFile(file, listener);
  };
}
