/** One field that differs between two specs: its dotted path and both values (undefined: absent). */
export interface FieldDiff {
  readonly field: string;
  readonly before: unknown;
  readonly after: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Leaves by dotted path; arrays are compared whole (a list of methods or zones reads better as one value). */
function flatten(value: unknown, prefix: string, into: Map<string, unknown>): Map<string, unknown> {
  if (!isObject(value)) {
    if (prefix !== '') into.set(prefix, value);
    return into;
  }
  for (const [key, child] of Object.entries(value)) flatten(child, prefix === '' ? key : `${prefix}.${key}`, into);
  return into;
}

/** Field-level differences from `before` to `after`, sorted by field. */
export function specDiff(before: unknown, after: unknown): FieldDiff[] {
  const a = flatten(before, '', new Map());
  const b = flatten(after, '', new Map());
  const fields = [...new Set([...a.keys(), ...b.keys()])].sort();
  return fields.filter((f) => JSON.stringify(a.get(f)) !== JSON.stringify(b.get(f))).map((field) => ({ field, before: a.get(field), after: b.get(field) }));
}

export function shown(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}
