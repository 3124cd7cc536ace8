import { createLogger, type Logger, type LogLevel } from '@causeway/shared';

/** The runtime's root logger; modules take named children (`runtime:xds-client`). */
export function createRuntimeLogger(level: LogLevel): Logger {
  return createLogger('runtime', { level });
}

export function childLogger(root: Logger, module: string): Logger {
  return root.child({ module: `runtime:${module}` });
}
