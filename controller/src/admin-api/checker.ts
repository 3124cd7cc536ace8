import {
  canonicalUpstreamUrl,
  CausewayError,
  isSlug,
  labelKeyPattern,
  labelRule,
  labelValuePattern,
  MAX_URL_LENGTH,
  rangeProblem,
  slugRule,
  type ErrorDetail,
  type Normalized,
  type Range,
} from '@causeway/shared';

type Json = unknown;

function show(value: Json): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Collects every problem of a document, each with the field path, the value and the
 * rule, so one answer lists everything that is wrong.
 */
export class Checker {
  readonly details: ErrorDetail[] = [];

  fail(path: string, message: string): void {
    this.details.push({ path, message });
  }

  /** An object whose keys must all be in `allowed`; undefined when absent and optional. */
  object(path: string, value: Json, allowed: readonly string[], required = false): Record<string, Json> | undefined {
    if (value === undefined) {
      if (required) this.fail(path, 'is required');
      return undefined;
    }
    if (!isObject(value)) {
      this.fail(path, `${show(value)} is not an object`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.fail(`${path}.${key}`, `unknown field (expected one of ${allowed.join(', ')})`);
    }
    return value;
  }

  string(path: string, value: Json, fallback: string | undefined, maxLength = 256): string {
    if (value === undefined) {
      if (fallback === undefined) this.fail(path, 'is required');
      return fallback ?? '';
    }
    if (typeof value !== 'string') {
      this.fail(path, `${show(value)} is not a string`);
      return fallback ?? '';
    }
    if (value.length > maxLength) this.fail(path, `is longer than ${maxLength} characters`);
    return value;
  }

  slug(path: string, value: Json, fallback?: string): string {
    if (value === undefined && fallback !== undefined) return fallback;
    if (value === undefined) {
      this.fail(path, 'is required');
      return '';
    }
    if (!isSlug(value)) this.fail(path, `${show(value)} is not a slug (${slugRule})`);
    return typeof value === 'string' ? value : '';
  }

  integer(path: string, value: Json, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, `${show(value)} is not a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  boolean(path: string, value: Json, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.fail(path, `${show(value)} is not true or false`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(path: string, value: Json, fallback: T, allowed: readonly T[]): T {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(path, `${show(value)} is not one of ${allowed.join(', ')}`);
      return fallback;
    }
    return value as T;
  }

  /** A list of unique items, each checked by `item`. */
  list<T>(path: string, value: Json, maxItems: number, item: (path: string, value: Json) => T): T[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      this.fail(path, `${show(value)} is not a list`);
      return [];
    }
    if (value.length > maxItems) this.fail(path, `has ${value.length} items; at most ${maxItems} are allowed`);
    const seen = new Set<T>();
    const items: T[] = [];
    value.forEach((v: Json, i) => {
      const problemsBefore = this.details.length;
      const checked = item(`${path}[${i}]`, v);
      if (this.details.length > problemsBefore) return;
      if (seen.has(checked)) this.fail(`${path}[${i}]`, `${show(v)} is listed twice`);
      seen.add(checked);
      items.push(checked);
    });
    return items;
  }

  /** A whole number within one of the shared ranges; its default when absent. */
  range(path: string, value: Json, range: Range, fallback: number = range.default): number {
    if (value === undefined) return fallback;
    const rule = rangeProblem(value, range);
    if (rule === undefined) return value as number;
    this.fail(path, `${show(value)} ${rule}`);
    return fallback;
  }

  /** A string in the canonical form a shared rule gives it (the value as stored), or the rule it breaks. */
  canonical(path: string, value: Json, canonical: (raw: string) => Normalized<string>, maxLength: number, fallback?: string): string {
    const problemsBefore = this.details.length;
    const text = this.string(path, value, fallback, maxLength);
    if (this.details.length > problemsBefore || value === undefined) return text;
    const result = canonical(text);
    if (result.ok) return result.value;
    this.fail(path, `${show(value)} ${result.rule}`);
    return text;
  }

  /** An upstream URL (see canonicalUpstreamUrl); '' allowed when `fallback` is ''. */
  httpUrl(path: string, value: Json, fallback?: string): string {
    if (value === '' && fallback === '') return '';
    return this.canonical(path, value, canonicalUpstreamUrl, MAX_URL_LENGTH, fallback);
  }

  labels(path: string, value: Json): Record<string, string> {
    if (value === undefined) return {};
    if (!isObject(value)) {
      this.fail(path, `${show(value)} is not an object`);
      return {};
    }
    const labels = value;
    const result: Record<string, string> = {};
    for (const [key, v] of Object.entries(labels)) {
      if (!/^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/.test(key)) {
        this.fail(`${path}.${key}`, 'is not a valid label key (letters, digits, ".", "_", "/", "-", max 63)');
      } else if (typeof v !== 'string' || v.length > 63) {
        this.fail(`${path}.${key}`, `${show(v)} is not a string of at most 63 characters`);
      } else {
        result[key] = v;
      }
    }
    return result;
  }

  /** Labels a runtime's certificate can carry (the rule of CAUSEWAY_NODE_LABELS), at most `max`. */
  runtimeLabels(path: string, value: Json, max: number): Record<string, string> {
    if (value === undefined) return {};
    if (!isObject(value)) {
      this.fail(path, `${show(value)} is not an object`);
      return {};
    }
    const entries = Object.entries(value);
    if (entries.length > max) this.fail(path, `has ${entries.length} labels; at most ${max} are allowed`);
    const result: Record<string, string> = {};
    for (const [key, v] of entries) {
      if (!labelKeyPattern.test(key) || typeof v !== 'string' || !labelValuePattern.test(v)) {
        this.fail(`${path}.${key}`, `${show(v)} is not a runtime label (${labelRule})`);
      } else {
        result[key] = v;
      }
    }
    return result;
  }

  /** Throws one invalid_argument error listing every problem found. */
  done(): void {
    if (this.details.length > 0) throw CausewayError.invalid(this.details);
  }
}

export { isObject };
