import type { FastifyInstance } from 'fastify';
import { CausewayError } from '@causeway/shared';
import type { Deployer } from '../deployment/deployer.ts';
import type { ApiSpec, Kind } from '../store/records.ts';
import { notFound, type ResourceStore, type WriteOptions } from '../store/resource-store.ts';
import { etag, kindOfPlural, parseIfMatch, pluralOf, toDocument } from './documents.ts';
import { API_VERSION, validateDocument } from './validate.ts';

const MAX_WAIT_MS = 300_000;

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
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_WAIT_MS) {
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

function writeOptions(header: string | undefined): WriteOptions {
  const ifMatch = parseIfMatch(header);
  if (ifMatch === 'invalid') {
    throw CausewayError.invalid([{ path: 'If-Match', message: `${JSON.stringify(header)} is not a revision ETag like "12"` }]);
  }
  return ifMatch === undefined ? {} : { ifMatch };
}

/** GET (list and one), PUT and DELETE for every declarative kind. */
export function registerResourceRoutes(app: FastifyInstance, store: ResourceStore, deployer: Deployer): void {
  app.get<{ Params: { plural: string } }>('/v1/:plural', async (request) => {
    const kind = kindOf(request.params.plural, request.url);
    const records = await store.list(kind, request.principal.org);
    return { apiVersion: API_VERSION, kind: `${kind}List`, items: records.map(toDocument) };
  });

  app.get<{ Params: NameParams }>('/v1/:plural/:name', async (request, reply) => {
    const kind = kindOf(request.params.plural, request.url);
    const record = await store.get(kind, request.principal.org, request.params.name);
    if (record === undefined) throw notFound(kind, request.params.name);
    reply.header('etag', etag(record.revision));
    return toDocument(record);
  });

  app.put<{ Params: NameParams; Querystring: Record<string, string> }>('/v1/:plural/:name', async (request, reply) => {
    const kind = kindOf(request.params.plural, request.url);
    const options = writeOptions(request.headers['if-match']);
    const wait = parseWait(request.query);
    const doc = validateDocument(request.body, { kind, name: request.params.name });
    if (wait !== undefined && doc.kind !== 'Api') {
      throw CausewayError.invalid([{ path: 'wait', message: 'only API deployments can be waited for' }]);
    }
    const org = request.principal.org;
    const deployed =
      wait === undefined
        ? { put: await store.put(doc.kind, org, doc.name, doc.labels, doc.spec, options), report: undefined }
        : await deployer.putAndWait(org, doc.name, doc.labels, doc.spec as ApiSpec, wait.ms, wait.rollbackOnFailure, options.ifMatch);
    const result = deployed.put;
    reply.code(result.created ? 201 : 200).header('etag', etag(result.record.revision));
    reply.header('causeway-result', result.created ? 'created' : result.changed ? 'updated' : 'unchanged');
    if (result.created) reply.header('location', `/v1/${pluralOf[kind]}/${doc.name}`);
    const body = toDocument(result.record);
    return deployed.report === undefined ? body : { ...body, status: { deployment: deployed.report } };
  });

  app.delete<{ Params: NameParams }>('/v1/:plural/:name', async (request) => {
    const kind = kindOf(request.params.plural, request.url);
    const revision = await store.delete(kind, request.principal.org, request.params.name, writeOptions(request.headers['if-match']));
    return { apiVersion: API_VERSION, kind: 'Status', status: 'deleted', metadata: { name: request.params.name, kind, revision } };
  });
}
