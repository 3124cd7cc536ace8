/**
 * `spec.policies` as a whole: the API's policies and its per method/path-prefix overrides.
 * An override names some policies; a request it matches (the first that does) goes
 * through the API's policies with each named one replaced.
 */
import type { ErrorDetail } from '../errors.ts';
import { FieldChecker, showValue } from './field-checker.ts';
import { canonicalBasePath } from './paths.ts';
import { checkPolicyCombination, checkPolicyFields, policyFields } from './policies.ts';
import type { PolicyOverride, PolicySpec } from './policy-spec.ts';
import { httpMethods, type HttpMethod } from './resource-rules.ts';

export const overrideRules = { maxOverrides: 32 } as const;

/** The fields of the two that replace each other: an override naming one drops the API's other. */
const authentication = ['jwt', 'apiKey'] as const;

/** The policies a request an override matches goes through: the API's, each one the override names replaced. */
export function overriddenPolicies(base: PolicySpec, override: PolicySpec): PolicySpec {
  const merged: Record<string, unknown> = { ...base };
  delete merged.overrides;
  if (authentication.some((field) => override[field] !== undefined)) for (const field of authentication) delete merged[field];
  for (const field of policyFields) if (override[field] !== undefined) merged[field] = override[field];
  return merged as PolicySpec;
}

/** Whether some request to the API goes through a `field` policy: the API's own, or one an override names. */
export function hasPolicy(spec: PolicySpec | undefined, field: (typeof policyFields)[number]): boolean {
  return spec !== undefined && (spec[field] !== undefined || (spec.overrides ?? []).some((o) => o.policies[field] !== undefined));
}

function checkOverride(c: FieldChecker, path: string, raw: unknown, base: PolicySpec): PolicyOverride {
  const spec = c.object(path, raw, ['match', 'policies']) ?? {};
  const match = c.object(`${path}.match`, spec.match, ['methods', 'pathPrefix']) ?? {};
  const methods = c.list(`${path}.match.methods`, match.methods, httpMethods.length, (at, v) => {
    if (!(httpMethods as readonly unknown[]).includes(v)) c.fail(at, `${showValue(v)} is not one of ${httpMethods.join(', ')}`);
    return v as HttpMethod;
  });
  const prefix = c.string(`${path}.match.pathPrefix`, match.pathPrefix, 256, '/');
  const canonical = canonicalBasePath(prefix);
  if (!canonical.ok && typeof match.pathPrefix === 'string') c.fail(`${path}.match.pathPrefix`, canonical.rule);
  // Requests are matched without their path parameters (`/admin;x=1` is `/admin`), so a prefix has none.
  if (canonical.ok && canonical.value.includes(';')) c.fail(`${path}.match.pathPrefix`, "has ';': path parameters are not matched (a request's '/admin;x=1' is '/admin')");
  if (spec.policies === undefined) c.fail(`${path}.policies`, 'is required');
  const own = checkPolicyFields(c, `${path}.policies`, c.object(`${path}.policies`, spec.policies, policyFields) ?? {});
  const named = Object.keys(own);
  if (spec.policies !== undefined && named.length === 0) c.fail(`${path}.policies`, 'names no policy');
  // What the override's requests go through must hold together (e.g. rateLimit.by consumer needs an apiKey).
  if (named.some((field) => field === 'jwt' || field === 'apiKey' || field === 'rateLimit')) checkPolicyCombination(c, `${path}.policies`, overriddenPolicies(base, own));
  return { methods: [...new Set(methods)], pathPrefix: canonical.ok ? canonical.value : prefix, policies: own };
}

/**
 * Checks `spec.policies` (JSON as written, or as a runtime rebuilt it from the typed
 * messages) and fills in defaults. `path` prefixes every problem's field path.
 */
export function checkPolicies(raw: unknown, path = 'spec.policies'): { readonly policies: PolicySpec; readonly problems: readonly ErrorDetail[] } {
  const c = new FieldChecker();
  const spec = c.object(path, raw, [...policyFields, 'overrides']) ?? {};
  const base = checkPolicyFields(c, path, spec);
  checkPolicyCombination(c, path, base);
  if (spec.overrides === undefined) return { policies: base, problems: c.problems };
  const overrides = c.list(`${path}.overrides`, spec.overrides, overrideRules.maxOverrides, (at, v) => checkOverride(c, at, v, base));
  return { policies: overrides.length === 0 ? base : { ...base, overrides }, problems: c.problems };
}
