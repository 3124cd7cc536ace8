import { pino, type Logger, type redactOptions } from 'pino';

export type { Logger };

export interface LoggerSettings {
  readonly level: string;
  /** `json` (default) or `pretty` single lines for a terminal. */
  readonly format?: 'json' | 'pretty';
}

const redact: redactOptions = {
  paths: [
    'authorization',
    'token',
    'headers.authorization',
    'req.headers.authorization',
    '*.token',
    '*.authorization',
  ],
  censor: '[redacted]',
};

/** The root logger of an app (`controller`, `runtime`); take named children from it. */
export function createLogger(app: string, settings: LoggerSettings): Logger {
  return pino({
    name: app,
    level: settings.level,
    redact,
    serializers: { err: pino.stdSerializers.err },
    base: { app, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
