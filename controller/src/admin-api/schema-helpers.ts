import { httpStatusFor, slugPattern } from '@causeway/shared';
import { kinds } from '../store/records.ts';
import { yamlTypes } from './body-parsers.ts';
import { pluralOf } from './documents.ts';
import { ref, type JsonSchema } from './document-schemas.ts';
import { adminErrorCodes } from './error-replies.ts';

/** Query parameters that only some kinds take, on the routes that serve every kind. */
export const KINDS_KEY = 'x-causeway-kinds';

export const tags = { resources: ['Resources'], pools: ['Gateway pools'], deployments: ['API deployments'], status: ['Status'], access: ['Orgs, tokens and roles'], audit: ['Audit log'], runtimes: ['Runtime identity'] } as const;
export const consumes = ['application/json', ...yamlTypes];
export const slug = { type: 'string', pattern: slugPattern.source, maxLength: 32 } as const;

export const errorResponse = (status: number): JsonSchema => {
  const codes = adminErrorCodes.filter((code) => httpStatusFor(code) === status);
  return { description: codes.map((c) => `\`${c}\``).join(' or '), ...ref('Error') };
};
/** Error answers by status, each the one Error schema; 401, 500 and 503 can answer anything protected. */
export const errors = (...statuses: number[]): Record<number, JsonSchema> =>
  Object.fromEntries([...statuses, 401, 500, 503].map((status) => [status, errorResponse(status)]));
/** ... and what a route that reads a body may answer. */
export const bodyErrors = [400, 413, 415];

export const params = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', required: Object.keys(properties), properties });
export const named = (what: string) => params({ name: { ...slug, description: `the ${what}'s name` } });
export const plural = { enum: kinds.map((k) => pluralOf[k]), description: 'the kind: the document lists one path per kind' };
export const anyKind = params({ plural, name: { ...slug, description: 'metadata.name' } });

export const trueOrFalse = (description: string, only?: string): JsonSchema => ({ enum: ['true', 'false'], description, ...(only === undefined ? {} : { [KINDS_KEY]: [only] }) });
export const force = trueOrFalse('remove what is in use anyway (a zone APIs fail over to, the last member of a pool APIs use)');
export const ifMatch = { type: 'object', properties: { 'if-match': { type: 'string', description: 'the ETag of a GET: 412 if the resource changed since' } } };
export const etag = { type: 'string', description: 'the revision, quoted' };
export const ok = (description: string, schema: JsonSchema, headers?: Record<string, JsonSchema>): JsonSchema => ({
  description,
  ...schema,
  ...(headers === undefined ? {} : { headers }),
});

export const check = { type: 'object', properties: { ok: { type: 'boolean' }, reason: { type: 'string' } } };
export const time = { type: 'string', format: 'date-time' } as const;
export const list = (kind: string, item: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties: { kind: { const: kind }, items: { type: 'array', items: { type: 'object', properties: item } } } });

/** A body that may be left out (@fastify/swagger marks every body required). */
export const OPTIONAL_BODY_KEY = 'x-causeway-optional-body';

declare module 'fastify' {
  interface FastifySchema {
    readonly [OPTIONAL_BODY_KEY]?: boolean;
  }
}
