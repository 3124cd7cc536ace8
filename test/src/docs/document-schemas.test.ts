import { describe, expect, it } from 'vitest';
import { CausewayError } from '@causeway/shared';
import { documentSchemas, type JsonSchema } from '../../../controller/src/admin-api/document-schemas.ts';
import { validateDocument } from '../../../controller/src/admin-api/validate.ts';
import { kinds, type Kind } from '../../../controller/src/store/records.ts';
import { code, readDoc, section, tableRows } from './markdown.ts';

/** A field of a spec as its schema says: its dotted path and its schema. */
interface Field {
  readonly path: string;
  readonly schema: JsonSchema;
  readonly required: boolean;
}

const specSchema = (kind: Kind): JsonSchema => documentSchemas.find((s) => s.$id === `${kind}Spec`) ?? {};

/** Every leaf field of an object schema (nested objects are walked, `upstream`'s one-of is a leaf). */
export function fields(schema: JsonSchema, prefix = ''): Field[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = (schema.required ?? []) as string[];
  return Object.entries(properties).flatMap(([name, field]) =>
    field.properties === undefined ? [{ path: `${prefix}${name}`, schema: field, required: required.includes(name) }] : fields(field, `${prefix}${name}.`),
  );
}

/** The smallest document of each kind that validates. */
const minimal: Record<Kind, Record<string, unknown>> = {
  Gateway: { url: 'http://gw' },
  GatewayPool: {},
  Zone: {},
  Consumer: {},
  Api: { basePath: '/a', upstream: { pool: 'p' } },
};
/** What a value of a field needs besides it: a timeout may not exceed the interval. */
const alongside: Record<string, Record<string, unknown>> = { 'healthCheck.timeoutMs': { 'healthCheck.intervalMs': 300_000 } };

function withField(spec: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(spec);
  const parts = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
  at[parts.at(-1) ?? ''] = value;
  return copy;
}

function problems(kind: Kind, spec: Record<string, unknown>): string[] {
  try {
    validateDocument({ spec }, { kind, name: 'x' });
    return [];
  } catch (error) {
    if (!(error instanceof CausewayError)) throw error;
    return error.details.map((d) => `${d.path}: ${d.message}`);
  }
}

const at = (value: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, p) => (v as Record<string, unknown> | undefined)?.[p], value);

describe('the document schemas of the OpenAPI document', () => {
  it.each(kinds)('%s: each default is what the controller fills in', (kind) => {
    const filled = validateDocument({ spec: minimal[kind] }, { kind, name: 'x' }).spec;
    for (const field of fields(specSchema(kind)).filter((f) => 'default' in f.schema)) {
      expect(at(filled, field.path), field.path).toEqual(field.schema.default);
    }
  });

  it.each(kinds)('%s: each bound is where the controller stops accepting', (kind) => {
    for (const { path, schema } of fields(specSchema(kind)).filter((f) => f.schema.minimum !== undefined)) {
      const base = Object.entries(alongside[path] ?? {}).reduce((spec, [p, v]) => withField(spec, p, v), minimal[kind]);
      const [min, max] = [schema.minimum as number, schema.maximum as number];
      expect(problems(kind, withField(base, path, min)), `${path} = ${min}`).toEqual([]);
      expect(problems(kind, withField(base, path, max)), `${path} = ${max}`).toEqual([]);
      expect(problems(kind, withField(base, path, min - 1)), `${path} = ${min - 1}`).toHaveLength(1);
      expect(problems(kind, withField(base, path, max + 1)), `${path} = ${max + 1}`).toHaveLength(1);
    }
  });

  it('lists as required exactly what the controller requires', () => {
    for (const kind of kinds) {
      const required = fields(specSchema(kind)).filter((f) => f.required).map((f) => f.path);
      const missing = problems(kind, {}).map((p) => p.split(':')[0]?.replace(/^spec\./, ''));
      expect(required.sort(), kind).toEqual(missing.sort());
    }
  });

  it('gives the length and item bounds the controller keeps', () => {
    const slugs = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`);
    const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${i}.example`);
    const cases: [Kind, string, (n: number) => unknown][] = [
      ['Gateway', 'url', (n) => `http://gw/${'a'.repeat(n - 'http://gw/'.length)}`],
      ['Gateway', 'healthCheck.path', (n) => `/${'a'.repeat(n - 1)}`],
      ['Zone', 'dtcUrl', (n) => `http://gw/${'a'.repeat(n - 'http://gw/'.length)}`],
      ['GatewayPool', 'description', (n) => 'd'.repeat(n)],
      ['GatewayPool', 'members', slugs],
      ['Api', 'basePath', (n) => `/${'a'.repeat(n - 1)}`],
      ['Api', 'hosts', hosts],
      ['Api', 'failover.zones', slugs],
    ];
    for (const [kind, path, make] of cases) {
      const schema = fields(specSchema(kind)).find((f) => f.path === path)?.schema ?? {};
      const bound = (schema.maxLength ?? schema.maxItems) as number;
      expect(bound, `${kind} ${path}`).toBeGreaterThan(0);
      expect(problems(kind, withField(minimal[kind], path, make(bound))), `${kind} ${path} at ${bound}`).toEqual([]);
      expect(problems(kind, withField(minimal[kind], path, make(bound + 1))), `${kind} ${path} past ${bound}`).not.toEqual([]);
    }
  });
});

/** A default as the field tables write it: `"` for an empty string, `[]` for an empty list. */
function written(value: unknown): string {
  return value === '' ? '""' : typeof value === 'string' ? value : JSON.stringify(value);
}

describe('the field tables of docs/admin-api.md', () => {
  const headings: Record<Kind, string> = { Gateway: '### Gateway', GatewayPool: '### GatewayPool', Zone: '### Zone', Consumer: '### Consumer', Api: '### Api' };
  const table = (kind: Kind) => tableRows(section(readDoc('docs/admin-api.md'), headings[kind])).filter(([field = '']) => code(field) !== undefined && !field.includes('/v1/'));

  it.each(kinds)('%s: lists every field of the spec, each once', (kind) => {
    expect(table(kind).map(([field = '']) => code(field)).sort()).toEqual(fields(specSchema(kind)).map((f) => f.path).sort());
  });

  it.each(kinds)('%s: gives each field its default and bounds', (kind) => {
    const rows = new Map(table(kind).map(([field = '', byDefault = '', rule = '']) => [code(field), { byDefault, rule }]));
    const wrong: string[] = [];
    for (const { path, schema, required } of fields(specSchema(kind))) {
      const row = rows.get(path) ?? { byDefault: '', rule: '' };
      const expected = 'default' in schema ? `\`${written(schema.default)}\`` : required ? '(required)' : '';
      if (!row.byDefault.startsWith(expected)) wrong.push(`${path}: default "${row.byDefault}", expected ${expected}`);
      const bounds = [
        schema.minimum === undefined ? undefined : `${String(schema.minimum)}–${String(schema.maximum)}`,
        schema.maxLength === undefined ? undefined : `at most ${String(schema.maxLength)} characters`,
        schema.maxItems === undefined ? undefined : `at most ${String(schema.maxItems)}`,
        ...(((schema.enum ?? (schema.items as JsonSchema | undefined)?.enum) as string[] | undefined) ?? []).map(String),
      ];
      for (const bound of bounds) if (bound !== undefined && !row.rule.includes(bound)) wrong.push(`${path}: rule "${row.rule}" does not say ${bound}`);
    }
    expect(wrong).toEqual([]);
  });
});
