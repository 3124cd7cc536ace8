import { ConfigError } from '@causeway/shared';
import { loadControllerConfig } from './config.ts';
import { createController } from './controller.ts';

try {
  const controller = createController(loadControllerConfig(process.env));
  const stop = (): void => void controller.close().then(() => process.exit(0), () => process.exit(1));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await controller.start();
} catch (error) {
  process.stderr.write(`causeway controller: ${error instanceof ConfigError ? error.message : String((error as Error).stack ?? error)}\n`);
  process.exit(1);
}
