import type { ErrorDetail } from '../errors.ts';
import { rangeProblem } from './resource-rules.ts';

/** A JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as an error message shows it: JSON, cut to 60 characters. */
export function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Collects the problems of nested input, each with its field path, the value and the
 * rule (the policy rules are checked with it by the controller and by the runtime).
 */
export class FieldChecker {
  readonly problems: ErrorDetail[] = [];

  fail(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** Whether checking `work` added no problem. */
  clean(work: () => void): boolean {
    const before = this.problems.length;
    work();
    return this.problems.length === before;
  }

  object(path: string, value: unknown, allowed: readonly string[]): Record<string, unknown> | undefined {
    if (value === undefined) return undefined;
    if (!isJsonObject(value)) {
      this.fail(path, `${showValue(value)} is not an object`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.fail(`${path}.${key}`, `unknown field (expected one of ${allowed.join(', ')})`);
    }
    return value;
  }

  string(path: string, value: unknown, maxLength: number, fallback?: string): string {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string') {
      this.fail(path, value === undefined ? 'is required' : `${showValue(value)} is not a string`);
      return fallback ?? '';
    }
    if (value.length > maxLength) this.fail(path, `is longer than ${maxLength} characters`);
    return value;
  }

  boolean(path: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value === 'boolean') return value;
    this.fail(path, `${showValue(value)} is not true or false`);
    return fallback;
  }

  /** A whole number from min to max; `fallback` when absent (required when there is none). */
  integer(path: string, value: unknown, bounds: { readonly min: number; readonly max: number }, fallback?: number): number {
    if (value === undefined && fallback !== undefined) return fallback;
    if (value === undefined) {
      this.fail(path, 'is required');
      return bounds.min;
    }
    const rule = rangeProblem(value, bounds);
    if (rule === undefined) return value as number;
    this.fail(path, `${showValue(value)} ${rule}`);
    return fallback ?? bounds.min;
  }

  /** A list of at most `max` items, each checked (and normalised) by `item`; duplicates refused. */
  list<T>(path: string, value: unknown, max: number, item: (path: string, value: unknown) => T): T[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      this.fail(path, `${showValue(value)} is not a list`);
      return [];
    }
    if (value.length > max) this.fail(path, `has ${value.length} items; at most ${max} are allowed`);
    const seen = new Set<T>();
    const items: T[] = [];
    value.slice(0, max).forEach((v: unknown, i) => {
      let checked: T | undefined;
      if (!this.clean(() => (checked = item(`${path}[${i}]`, v)))) return;
      if (seen.has(checked as T)) this.fail(`${path}[${i}]`, `${showValue(v)} is listed twice`);
      seen.add(checked as T);
      items.push(checked as T);
    });
    return items;
  }

  /** An object used as a map of at most `max` entries; each entry checked (and its key normalised) by `entry`. */
  map<T>(path: string, value: unknown, max: number, entry: (path: string, key: string, value: unknown) => readonly [string, T]): Record<string, T> {
    if (value === undefined) return {};
    if (!isJsonObject(value)) {
      this.fail(path, `${showValue(value)} is not an object`);
      return {};
    }
    const entries = Object.entries(value);
    if (entries.length > max) this.fail(path, `has ${entries.length} entries; at most ${max} are allowed`);
    const result: Record<string, T> = {};
    for (const [key, v] of entries.slice(0, max)) {
      const at = `${path}.${key}`;
      let checked: readonly [string, T] | undefined;
      if (!this.clean(() => (checked = entry(at, key, v))) || checked === undefined) continue;
      if (Object.hasOwn(result, checked[0])) this.fail(at, `names ${showValue(checked[0])} twice`);
      result[checked[0]] = checked[1];
    }
    return result;
  }
}
