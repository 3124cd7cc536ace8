import { createLogger, type Logger } from '@causeway/shared';
import type { LogLevel } from '@causeway/shared';

/** The controller's root logger; modules take named children (`controller:sync`). */
export function createControllerLogger(level: LogLevel): Logger {
  return createLogger('controller', { level });
}

export function childLogger(root: Logger, module: string): Logger {
  return root.child({ module: `controller:${module}` });
}
