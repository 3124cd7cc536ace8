export * from './paths.ts';
export * from './resource-rules.ts';
export * from './urls.ts';
export * from './policies.ts';
export * from './policy-spec.ts';
export * from './policy-messages.ts';
export * from './policy-overrides.ts';
export { canonicalCidr, headerNameProblem, hopByHopHeaders, jwtAlgorithms, reservedHeaders, templatePattern } from './policy-values.ts';
