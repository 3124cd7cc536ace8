export * from './certificates.ts';
export * from './runtime-identity.ts';
