import { isDeepStrictEqual } from 'node:util';

/** One field an audited change touched, with its value before and after (null: absent). */
export interface FieldChange {
  readonly field: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** Bounds of what one audit event keeps: a flood of fields or a huge value stays small. */
export const MAX_FIELD_CHANGES = 64;
const MAX_VALUE_LENGTH = 256;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as an event keeps it: as is when small, else its JSON cut short. */
function bounded(value: unknown): unknown {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  if (text === undefined || text.length <= MAX_VALUE_LENGTH) return value;
  return `${text.slice(0, MAX_VALUE_LENGTH)}… [${text.length - MAX_VALUE_LENGTH} more characters]`;
}

function walk(prefix: string, beforeValue: unknown, afterValue: unknown, out: FieldChange[]): void {
  if (isDeepStrictEqual(beforeValue, afterValue)) return;
  // A created or deleted object lists its fields one by one, as a changed one does.
  const before = beforeValue === undefined && isPlainObject(afterValue) ? {} : beforeValue;
  const after = afterValue === undefined && isPlainObject(beforeValue) ? {} : afterValue;
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) walk(prefix === '' ? key : `${prefix}.${key}`, before[key], after[key], out);
    return;
  }
  // Absent and null are one value to a reader.
  if ((before === undefined || before === null) && (after === undefined || after === null)) return;
  // Lists and scalars are one field each: `spec.members` before and after reads better than per index.
  out.push({ field: prefix === '' ? '(value)' : prefix, before: bounded(before), after: bounded(after) });
}

/**
 * The fields that differ between two versions of a document (`spec.timeouts.requestMs`),
 * with their values; for a creation `before` is undefined, for a deletion `after`. Kept to
 * MAX_FIELD_CHANGES fields, the last entry saying how many more there were. Callers pass
 * documents without secrets: nothing here can tell a secret from a value.
 */
export function fieldChanges(before: unknown, after: unknown): FieldChange[] {
  const out: FieldChange[] = [];
  walk('', before, after, out);
  if (out.length <= MAX_FIELD_CHANGES) return out;
  const more = out.length - (MAX_FIELD_CHANGES - 1);
  return [...out.slice(0, MAX_FIELD_CHANGES - 1), { field: '(more)', before: null, after: `${more} more fields changed` }];
}
