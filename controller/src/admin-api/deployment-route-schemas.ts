import type { FastifySchema } from 'fastify';
import { SMALL_BODY_BYTES } from './body-parsers.ts';
import { ref } from './document-schemas.ts';
import { bodyErrors, consumes, errors, etag, named, ok, OPTIONAL_BODY_KEY, tags } from './schema-helpers.ts';

const revisionItem = { type: 'object', properties: { revision: { type: 'integer' }, createdAt: { type: 'string', format: 'date-time' }, labels: { type: 'object' }, spec: ref('ApiSpec') } };

/** Revisions, rollback and deployment status of APIs. */
export const deploymentRouteSchemas = {
  listApiRevisions: {
    tags: tags.deployments,
    operationId: 'listApiRevisions',
    summary: "Every revision of an API's spec, newest first",
    params: named('API'),
    response: { 200: ok('The revisions', { type: 'object', properties: { kind: { const: 'ApiRevisionList' }, items: { type: 'array', items: revisionItem } } }), ...errors(404) },
  },
  rollbackApi: {
    tags: tags.deployments,
    operationId: 'rollbackApi',
    summary: 'Write the spec of an earlier revision as a new revision (the previous one unless revision is given)',
    description: `at most ${SMALL_BODY_BYTES} bytes; no body rolls back to the previous revision.`,
    [OPTIONAL_BODY_KEY]: true,
    params: named('API'),
    consumes,
    body: { type: 'object', additionalProperties: false, properties: { revision: { type: 'integer', minimum: 1 } } },
    response: { 200: ok('The API; status.restoredRevision names the revision restored', ref('Api'), { etag }), ...errors(...bodyErrors, 404, 409, 412) },
  },
  getApiStatus: {
    tags: tags.deployments,
    operationId: 'getApiStatus',
    summary: "Which runtimes applied the API's current revision, which rejected it and why",
    params: named('API'),
    response: { 200: ok('The deployment status', { type: 'object', allOf: [ref('DeploymentStatus')], properties: { kind: { const: 'ApiDeploymentStatus' } } }), ...errors(404) },
  },
  watchApiStatus: {
    tags: tags.deployments,
    operationId: 'watchApiStatus',
    summary: 'The deployment status as server-sent events: a `status` event now and at each change, an `error` event that ends the stream; a stream lasts at most 10 minutes',
    params: named('API'),
    response: { 200: { description: 'Events, each `data` an ApiDeploymentStatus (or the error envelope)', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors(404, 503) },
  },
} satisfies Record<string, FastifySchema>;
