export { createRuntime, type Runtime, type RuntimeOverrides, type RuntimeStatus } from './runtime.ts';
export { loadRuntimeConfig, type RuntimeConfig } from './config.ts';
export type { ApplyOutcome } from './xds-client/config-target.ts';
export type { ConfigSource, Resources } from './resources/resources.ts';
export type { RuntimeMetrics } from './metrics.ts';
export type { OutlierSettings } from './health/outlier.ts';
export { createRuntimeMetrics } from './metrics.ts';
