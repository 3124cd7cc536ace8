import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CausewayError } from '@causeway/shared';
import { fieldChanges, type FieldChange } from '../access/field-changes.ts';
import type { Deployer } from '../deployment/deployer.ts';
import { kinds, type ApiSpec, type Kind } from '../store/records.ts';
import type { Sql } from '../store/database.ts';
import type { HealthSettings } from '../store/gateway-health.ts';
import { notFound, ResourceStore, type PutItem, type WriteOptions } from '../store/resource-store.ts';
import { needs } from './access.ts';
import { authorizeWrites, existingOf } from './write-access.ts';
import { etag, kindOfPlural, parseIfMatch, pluralOf, toDocument } from './documents.ts';
import { API_VERSION, validateDocument } from './validate.ts';
import type { LargeBodyGate } from './large-body-gate.ts';
import { namePageOf, readNamePage, type PageQuery } from './list-cursor.ts';
import { routeSchemas } from './route-schemas.ts';
import { unhealthyPoolWarnings, warningHeaders, type WrittenDocument } from './pool-warnings.ts';

const MAX_WAIT_MS = 300_000;
/** Items of one `POST /v1/apply`. */
const MAX_APPLY_ITEMS = 50_000;
const MAX_APPLY_BYTES = 64 * 1024 * 1024;

/**
 * The items of an apply request (`{"items": [document, …]}`), each validated like a PUT
 * body and with its kind required; every problem of every item is reported at once.
 * Sorted so that what an item names is written before it (gateways, pools, zones, APIs).
 */
function validateApply(body: unknown): PutItem[] {
  const items = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { items?: unknown }).items : undefined;
  if (!Array.isArray(items)) throw CausewayError.invalid([{ path: 'items', message: 'is required: a list of documents' }]);
  if (items.length === 0 || items.length > MAX_APPLY_ITEMS) {
    throw CausewayError.invalid([{ path: 'items', message: `has ${items.length} documents; send 1 to ${MAX_APPLY_ITEMS}` }]);
  }
  const valid: PutItem[] = [];
  const problems: { path: string; message: string }[] = [];
  const seen = new Map<string, number>();
  items.forEach((item: unknown, index) => {
    try {
      const kind = typeof item === 'object' && item !== null ? (item as { kind?: unknown }).kind : undefined;
      if (kind === undefined) throw CausewayError.invalid([{ path: 'kind', message: `is required (one of ${kinds.join(', ')})` }]);
      const doc = validateDocument(item);
      const key = `${doc.kind}/${doc.name}`;
      const first = seen.get(key);
      if (first !== undefined) {
        throw CausewayError.invalid([{ path: 'metadata.name', message: `${doc.kind} "${doc.name}" is already items[${first}]` }]);
      }
      seen.set(key, index);
      valid.push({ ...doc, index });
    } catch (error) {
      if (!(error instanceof CausewayError) || error.code !== 'invalid_argument') throw error;
      problems.push(...error.details.map((d) => ({ path: `items[${index}].${d.path}`, message: d.message })));
    }
  });
  if (problems.length > 0) throw CausewayError.invalid(problems);
  return valid.sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind));
}

/** `?wait=10s` (ms, s or m; a bare number is seconds) and `&rollbackOnFailure=true`. */
function parseWait(query: Record<string, string>): { ms: number; rollbackOnFailure: boolean } | undefined {
  const raw = query.wait;
  const rollback = query.rollbackOnFailure;
  if (rollback !== undefined && rollback !== 'true' && rollback !== 'false') {
    throw CausewayError.invalid([{ path: 'rollbackOnFailure', message: `${JSON.stringify(rollback)} is not true or false` }]);
  }
  if (raw === undefined) {
    if (rollback === 'true') throw CausewayError.invalid([{ path: 'rollbackOnFailure', message: 'needs wait (e.g. ?wait=10s)' }]);
    return undefined;
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw);
  const unit = match?.[2] ?? 's';
  const ms = match === null ? Number.NaN : Number(match[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1_000 : 60_000);
  // Whole milliseconds: a fraction would reach the database as an interval of nothing.
  if (!Number.isInteger(ms) || ms <= 0 || ms > MAX_WAIT_MS) {
    throw CausewayError.invalid([{ path: 'wait', message: `${JSON.stringify(raw)} is not a duration like 500ms, 10s or 2m, at most 5m` }]);
  }
  return { ms, rollbackOnFailure: rollback === 'true' };
}

interface NameParams {
  plural: string;
  name: string;
}

function kindOf(plural: string, url: string): Kind {
  const kind = kindOfPlural.get(plural);
  if (kind === undefined) throw new CausewayError('not_found', `no such endpoint: ${url.split('?')[0]}`);
  return kind;
}

/** A `true`/`false` query parameter; absent is false. */
function parseFlag(query: Readonly<Record<string, string | undefined>>, key: string): boolean {
  const raw = query[key];
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  throw CausewayError.invalid([{ path: key, message: `${JSON.stringify(raw)} is not true or false` }]);
}

/** `?force=true`: see WriteOptions.force. */
export function parseForce(query: Readonly<Record<string, string | undefined>>): boolean {
  return parseFlag(query, 'force');
}

/** The fields a dry run would change, against what is stored (labels and spec, as the audit log shows them). */
function changesOf(before: unknown, after: { labels: unknown; spec: unknown }): FieldChange[] {
  const stored = before as { labels: unknown; spec: unknown } | undefined;
  return fieldChanges(stored === undefined ? undefined : { metadata: { labels: stored.labels }, spec: stored.spec }, { metadata: { labels: after.labels }, spec: after.spec });
}

function writeOptions(header: string | undefined, query: Readonly<Record<string, string | undefined>>): WriteOptions {
  const ifMatch = parseIfMatch(header);
  if (ifMatch === 'invalid') {
    throw CausewayError.invalid([{ path: 'If-Match', message: `${JSON.stringify(header)} is not a revision ETag like "12"` }]);
  }
  const force = parseForce(query);
  return { ...(ifMatch === undefined ? {} : { ifMatch }), ...(force ? { force } : {}) };
}

/** GET (list and one), PUT and DELETE for every declarative kind. */
export function registerResourceRoutes(app: FastifyInstance, sql: Sql, deployer: Deployer, largeBodies: LargeBodyGate, health: HealthSettings): void {
  const storeOf = (request: FastifyRequest): ResourceStore => new ResourceStore(sql, request.scope);
  // A write that puts an API on a pool with no member that could serve still succeeds, and says so.
  const warn = async (store: ResourceStore, docs: readonly WrittenDocument[], reply: FastifyReply): Promise<{ warnings?: string[] }> => {
    const warnings = await unhealthyPoolWarnings(sql, health, store, docs);
    if (warnings.length === 0) return {};
    reply.header('warning', warningHeaders(warnings));
    return { warnings };
  };

  app.get<{ Params: { plural: string }; Querystring: PageQuery }>('/v1/:plural', { ...needs({ kind: 'read' }), schema: routeSchemas.listDocuments }, async (request) => {
    const kind = kindOf(request.params.plural, request.url);
    const { items: records, nextCursor } = await readNamePage(namePageOf(request.query), (page) => storeOf(request).list(kind, page));
    return { apiVersion: API_VERSION, kind: `${kind}List`, items: records.map(toDocument), nextCursor };
  });

  app.get<{ Params: NameParams }>('/v1/:plural/:name', { ...needs({ kind: 'read' }), schema: routeSchemas.getDocument }, async (request, reply) => {
    const kind = kindOf(request.params.plural, request.url);
    const record = await storeOf(request).get(kind, request.params.name);
    if (record === undefined) throw notFound(kind, request.params.name);
    reply.header('etag', etag(record.revision));
    return toDocument(record);
  });

  // A token that may create or edit the kind gets in; replacing needs edit, creating create,
  // and an API's new upstream attach: decided once it is known which (authorizeWrites).
  app.put<{ Params: NameParams; Querystring: Record<string, string> }>('/v1/:plural/:name', { ...needs({ kind: ['create', 'edit'] }), schema: routeSchemas.putDocument }, async (request, reply) => {
    const kind = kindOf(request.params.plural, request.url);
    const options = writeOptions(request.headers['if-match'], request.query);
    const wait = parseWait(request.query);
    const doc = validateDocument(request.body, { kind, name: request.params.name });
    if (wait !== undefined && doc.kind !== 'Api') {
      throw CausewayError.invalid([{ path: 'wait', message: 'only API deployments can be waited for' }]);
    }
    const store = storeOf(request);
    await authorizeWrites(request.principal, store, [doc]);
    const deployed =
      wait === undefined
        ? { put: await store.put(doc.kind, doc.name, doc.labels, doc.spec, options), report: undefined }
        : await deployer.putAndWait(store, doc.name, doc.labels, doc.spec as ApiSpec, wait.ms, wait.rollbackOnFailure, options.ifMatch);
    const result = deployed.put;
    reply.code(result.created ? 201 : 200).header('etag', etag(result.record.revision));
    reply.header('causeway-result', result.created ? 'created' : result.changed ? 'updated' : 'unchanged');
    if (result.created) reply.header('location', `/v1/${pluralOf[kind]}/${doc.name}`);
    const body = { ...toDocument(result.record), ...(await warn(store, [doc], reply)) };
    return deployed.report === undefined ? body : { ...body, status: { deployment: deployed.report } };
  });

  // Many documents as one write: one revision, all or nothing.
  // Large bodies wait for their turn (or get 429) before they are read.
  // What an apply may write is decided per document (create or edit of its kind, attach), in the token's org.
  app.post('/v1/apply', { ...needs('authenticated'), schema: routeSchemas.apply, bodyLimit: MAX_APPLY_BYTES, onRequest: largeBodies.onRequest }, async (request, reply) => {
    const items = validateApply(request.body);
    const query = request.query as Record<string, string | undefined>;
    const force = parseForce(query);
    const dryRun = parseFlag(query, 'dryRun');
    const store = storeOf(request);
    const existing = !request.principal.systemAdmin || dryRun ? await existingOf(store, items) : new Map<string, unknown>();
    if (!request.principal.systemAdmin) await authorizeWrites(request.principal, store, items, existing);
    const { revision, results } = await store.putMany(items, { force, dryRun });
    const warned = await warn(store, items, reply);
    return {
      apiVersion: API_VERSION,
      kind: 'ApplyResult',
      revision: revision ?? null,
      ...(dryRun ? { dryRun } : {}),
      items: results.map((r) => ({
        kind: r.record.kind,
        name: r.record.name,
        result: r.created ? 'created' : r.changed ? 'updated' : 'unchanged',
        revision: r.record.revision,
        ...(dryRun && r.changed ? { changes: changesOf(existing.get(`${r.record.kind}/${r.record.name}`), r.record) } : {}),
      })),
      ...warned,
    };
  });

  app.delete<{ Params: NameParams; Querystring: Record<string, string> }>('/v1/:plural/:name', { ...needs({ kind: 'delete' }), schema: routeSchemas.deleteDocument }, async (request) => {
    const kind = kindOf(request.params.plural, request.url);
    const revision = await storeOf(request).delete(kind, request.params.name, writeOptions(request.headers['if-match'], request.query));
    return { apiVersion: API_VERSION, kind: 'Status', status: 'deleted', metadata: { name: request.params.name, kind, revision } };
  });
}
