import { fileURLToPath } from 'node:url';

/** The runtime's entry file: the CLI starts it as its own process, never imports it. */
export function runtimeMain(): string {
  return fileURLToPath(import.meta.resolve('@causeway/runtime/main'));
}
