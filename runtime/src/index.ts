export { createRuntime, type Runtime, type RuntimeOverrides, type RuntimeStatus } from './runtime.ts';
export { loadRuntimeConfig, type RuntimeConfig } from './config.ts';
export type { ApplyOutcome, ConfigSource } from './state/config-store.ts';
export type { ResourceState } from './state/resource-state.ts';
export type { RuntimeMetrics } from './metrics.ts';
export type { OutlierSettings } from './health/outlier.ts';
export { createRuntimeMetrics } from './metrics.ts';
