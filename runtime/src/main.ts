import { ConfigError } from '@causeway/shared';
import { createRuntime, loadRuntimeConfig, type RuntimeConfig } from './index.ts';

let config: RuntimeConfig;
try {
  config = loadRuntimeConfig();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(2);
}
const runtime = createRuntime(config);
try {
  await runtime.start();
} catch (error) {
  console.error('runtime failed to start:', error);
  process.exit(1);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    runtime.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('runtime failed to stop cleanly:', error);
        process.exit(1);
      },
    );
  });
}
