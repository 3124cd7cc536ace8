export { createController, type Controller, type ControllerOverrides } from './controller.ts';
export { loadControllerConfig, type ControllerConfig } from './config.ts';
export { startEmbeddedDatabase, freePort, type EmbeddedDatabase } from './store/embedded-database.ts';
export { createControllerMetrics } from './metrics.ts';
