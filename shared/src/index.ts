export * from './errors.ts';
export * from './env-config.ts';
export * from './grpc-adapter.ts';
export * from './log.ts';
export * from './node-identity.ts';
export * from './resources.ts';
export * from './slug.ts';
export * from './rules/index.ts';
