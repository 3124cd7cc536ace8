import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { httpStatusFor, type ErrorCode } from '@causeway/shared';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

/** The codes docs/admin-api.md lists in its error table, with their statuses. */
async function documentedCodes(): Promise<Map<string, number>> {
  const doc = await readFile(new URL('../../../docs/admin-api.md', import.meta.url), 'utf8');
  return new Map([...doc.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map((m) => [m[2] ?? '', Number(m[1])]));
}

const plurals = ['apis', 'gateways', 'gateway-pools', 'zones'] as const;
const kinds = ['Api', 'Gateway', 'GatewayPool', 'Zone'] as const;

/** One character of text, often one that PostgreSQL or JSON treat specially. */
const unit = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('\u0000', '\ud800', '\udfff', '\u2028', '\\', '"', 'é', '𝄞') },
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme-ascii' }) },
);

/** Valid documents of every kind, naming what the fixtures create (some still conflict: a base path taken). */
const name = fc.oneof(fc.constantFrom('fz-gw-1', 'fz-gw-2', 'fz-pool', 'fz-zone', 'fz-api'), fc.stringMatching(/^fz-[a-z0-9]{1,6}$/));
const labels = fc.dictionary(fc.constantFrom('team', 'tier', 'app.kubernetes.io/name'), fc.string({ maxLength: 12, unit }), { maxKeys: 2 });
const gatewaySpec = fc.record({ url: fc.constantFrom('http://127.0.0.1:7001', 'https://gw.example.com:8443/base', 'HTTP://GW.EXAMPLE.COM:80/'), zone: fc.constantFrom('default', 'fz-zone') }, { requiredKeys: ['url'] });
const poolSpec = fc.record({ members: fc.subarray(['fz-gw-1', 'fz-gw-2'], { minLength: 1 }), description: fc.string({ maxLength: 20, unit }) }, { requiredKeys: [] });
const zoneSpec = fc.record({ dtcUrl: fc.constantFrom('', 'https://eu-2.example.com'), failoverEligible: fc.boolean(), failoverPriority: fc.integer({ min: 0, max: 1_000 }) }, { requiredKeys: [] });
const apiSpec = fc.record(
  {
    basePath: fc.stringMatching(/^\/fz-[a-z0-9]{1,8}$/),
    hosts: fc.subarray(['a.example.com', 'b.example.com']),
    methods: fc.subarray(['GET', 'POST', 'DELETE']),
    upstream: fc.oneof(fc.constant({ gateway: 'fz-gw-1' }), fc.constant({ pool: 'fz-pool' })),
    retries: fc.record({ attempts: fc.integer({ min: 0, max: 10 }) }),
  },
  { requiredKeys: ['basePath', 'upstream'] },
);
const specOf = { Api: apiSpec, Gateway: gatewaySpec, GatewayPool: poolSpec, Zone: zoneSpec } as const;
const valid = fc.constantFrom(...kinds).chain((kind) =>
  fc.record({ apiVersion: fc.constant('causeway/v1'), kind: fc.constant(kind), metadata: fc.record({ name, labels }, { requiredKeys: ['name'] }), spec: specOf[kind] }, { requiredKeys: ['kind', 'metadata', 'spec'] }),
);

/** Any JSON value; its text often has NUL, lone surrogates and escapes. */
const anyJson = fc.jsonValue({ maxDepth: 4, stringUnit: unit });

/** A valid document with one field replaced by any value, removed, or added. */
const mutated = fc.tuple(valid, fc.constantFrom('replace', 'remove', 'add'), fc.nat(), anyJson).map(([doc, how, pick, value]) => {
  const copy = structuredClone(doc) as Record<string, unknown>;
  const parents: Record<string, unknown>[] = [copy];
  for (let i = 0; i < parents.length; i++) {
    for (const v of Object.values(parents[i] ?? {})) if (typeof v === 'object' && v !== null && !Array.isArray(v)) parents.push(v as Record<string, unknown>);
  }
  const parent = parents[pick % parents.length] ?? copy;
  const keys = Object.keys(parent);
  const key = how === 'add' || keys.length === 0 ? `x${pick % 7}` : (keys[pick % keys.length] ?? 'x');
  if (how === 'remove') delete parent[key];
  else parent[key] = value;
  return copy;
});

const document = fc.oneof({ weight: 3, arbitrary: valid }, { weight: 4, arbitrary: mutated }, { weight: 1, arbitrary: anyJson });

interface Probe {
  readonly method: 'PUT' | 'POST';
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: Uint8Array | string;
}

const encoders = {
  json: (value: unknown): string => JSON.stringify(value) ?? 'null',
  yaml: (value: unknown): string => stringify(value, { aliasDuplicateObjects: false }),
} as const;

/** Mostly to the path the document names; sometimes to another kind or name. */
const put = fc.tuple(document, fc.constantFrom(...plurals, 'nope'), name, fc.boolean(), fc.constantFrom('json', 'yaml')).map(([doc, plural, n, ownPath, format]): Probe => {
  const own = doc as { kind?: unknown; metadata?: { name?: unknown } } | null;
  const ownPlural = plurals[kinds.indexOf(own?.kind as (typeof kinds)[number])];
  const ownName = own?.metadata?.name;
  const usable = typeof ownName === 'string' && /^[a-z0-9-]{1,40}$/.test(ownName);
  const path = ownPath && ownPlural !== undefined && usable ? `/v1/${ownPlural}/${ownName}` : `/v1/${plural}/${n}`;
  return { method: 'PUT', path, contentType: format === 'json' ? 'application/json' : 'application/yaml', body: encoders[format](doc) };
});
const apply = fc.tuple(fc.oneof(fc.array(document, { maxLength: 4 }).map((items) => ({ items })), anyJson), fc.constantFrom('json', 'yaml')).map(
  ([body, format]): Probe => ({ method: 'POST', path: '/v1/apply', contentType: format === 'json' ? 'application/json' : 'application/yaml', body: encoders[format](body) }),
);
/** Nesting built as text: as values, thousands of levels would overflow the generator's own stack. */
const deep = fc.tuple(fc.constantFrom('PUT', 'POST'), fc.integer({ min: 60, max: 5_000 }), fc.constantFrom('[', '{"a":', '- '), fc.constantFrom('json', 'yaml')).map(
  ([method, n, open, format]): Probe => {
    const close = open === '[' ? ']' : open === '{"a":' ? '}' : '';
    const value = `${open.repeat(n)}1${close.repeat(n)}`;
    const body = method === 'PUT' ? (format === 'json' && open !== '- ' ? `{"spec":${value}}` : `spec:\n  ${value}`) : `{"items":[{"kind":"Api","spec":${open === '- ' ? '1' : value}}]}`;
    const contentType = format === 'json' && open !== '- ' ? 'application/json' : 'application/yaml';
    return { method: method as 'PUT' | 'POST', path: method === 'PUT' ? '/v1/apis/fz-deep' : '/v1/apply', contentType, body };
  },
);
const contentTypes = fc.oneof(
  fc.constantFrom('application/json', 'application/yaml', 'text/yaml', 'text/plain', 'application/octet-stream', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/jsonx', 'multipart/form-data; boundary=x', ';', undefined),
  // Any header value undici will send: printable ASCII.
  fc.stringMatching(/^[\x20-\x7e]{0,30}$/),
);
const bytes = fc.tuple(fc.constantFrom('PUT', 'POST'), fc.constantFrom(...plurals), contentTypes, fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.string({ maxLength: 200, unit: 'binary' }))).map(
  ([method, plural, contentType, body]): Probe => ({ method: method as 'PUT' | 'POST', path: method === 'PUT' ? `/v1/${plural}/fz-bytes` : '/v1/apply', contentType, body }),
);

describe('admin API fuzz', () => {
  let db: TestDatabase;
  let admin: AdminController;
  let pool: Pool;
  let documented: Map<string, number>;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url);
    pool = new Pool(admin.base, { connections: 1 });
    documented = await documentedCodes();
    const fixtures = [
      { kind: 'Zone', metadata: { name: 'fz-zone' }, spec: { dtcUrl: 'https://eu-2.example.com' } },
      { kind: 'Gateway', metadata: { name: 'fz-gw-1' }, spec: { url: 'http://127.0.0.1:7001' } },
      { kind: 'Gateway', metadata: { name: 'fz-gw-2' }, spec: { url: 'http://127.0.0.1:7002', zone: 'fz-zone' } },
      { kind: 'GatewayPool', metadata: { name: 'fz-pool' }, spec: { members: ['fz-gw-1', 'fz-gw-2'] } },
      { kind: 'Api', metadata: { name: 'fz-api' }, spec: { basePath: '/fz', upstream: { pool: 'fz-pool' } } },
    ];
    expect((await call(admin.base, 'POST', '/v1/apply', { items: fixtures })).status).toBe(200);
  });

  afterAll(async () => {
    await pool.destroy();
    await admin.close();
    await db.drop();
  });

  /** The revision and every resource as listed: what a refused write must leave as it was. */
  async function state(): Promise<string> {
    const lists = await Promise.all(plurals.map(async (plural) => (await call(admin.base, 'GET', `/v1/${plural}`)).body.items));
    return JSON.stringify({ revision: await admin.revision(), lists });
  }

  async function send(probe: Probe): Promise<{ status: number; contentType: string; text: string }> {
    const headers: Record<string, string> = { authorization: `Bearer ${TEST_TOKEN}` };
    if (probe.contentType !== undefined) headers['content-type'] = probe.contentType;
    const response = await pool.request({ method: probe.method, path: probe.path, headers, body: probe.body });
    return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), text: await response.body.text() };
  }

  function checkAnswer(answer: { status: number; contentType: string; text: string }): void {
    expect(answer.status, answer.text).not.toBe(500);
    expect(answer.contentType).toMatch(/^application\/json/);
    const body = JSON.parse(answer.text) as { error?: { code: ErrorCode; message: unknown; details?: unknown } };
    if (answer.status < 400) return;
    const error = body.error;
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(error ?? {}).filter((k) => !['code', 'message', 'details'].includes(k))).toEqual([]);
    expect(typeof error?.message).toBe('string');
    const code = error?.code ?? ('missing' as ErrorCode);
    expect(documented.get(code), `${code} is not in the error table of docs/admin-api.md`).toBe(answer.status);
    expect(httpStatusFor(code)).toBe(answer.status);
    // The database is up: nothing may be unavailable or internal here.
    expect(['internal', 'unavailable']).not.toContain(code);
    if (error?.details !== undefined) {
      expect(Array.isArray(error.details)).toBe(true);
      for (const d of error.details as { path: unknown; message: unknown }[]) expect([typeof d.path, typeof d.message]).toEqual(['string', 'string']);
    }
  }

  it('answers random, mutated and malformed writes with success or a documented error, never a 500, and a refused write changes nothing', async () => {
    let before = await state();
    const seen = new Map<number, number>();
    // Bounded in time for CI: runs past the deadline pass without sending anything (a
    // predicate is never left running, as an interrupted one would be).
    const deadline = Date.now() + 12_000;
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: put }, { weight: 3, arbitrary: apply }, { weight: 2, arbitrary: bytes }, { weight: 1, arbitrary: deep }), async (probe) => {
        if (Date.now() > deadline) return;
        const answer = await send(probe);
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        checkAnswer(answer);
        const after = await state();
        if (answer.status >= 400) expect(after, `${probe.method} ${probe.path} answered ${answer.status} and changed the state`).toBe(before);
        before = after;
      }),
      { numRuns: 400 },
    );
    // The suite exercised both sides: writes that were accepted and writes that were refused.
    // How many ran depends on the machine (the deadline), so each side is counted against the total.
    const accepted = (seen.get(200) ?? 0) + (seen.get(201) ?? 0);
    const refused = [...seen].filter(([status]) => status >= 400).reduce((n, [, count]) => n + count, 0);
    const total = accepted + refused;
    expect(total, JSON.stringify([...seen])).toBeGreaterThan(50);
    expect(accepted, JSON.stringify([...seen])).toBeGreaterThanOrEqual(Math.max(3, Math.floor(total / 50)));
    expect(refused, JSON.stringify([...seen])).toBeGreaterThan(total / 2);
  }, 30_000);
});
