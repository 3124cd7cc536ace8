export * from './paths.ts';
export * from './resource-rules.ts';
export * from './urls.ts';
