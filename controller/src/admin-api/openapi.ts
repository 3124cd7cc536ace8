import { SOFTWARE_VERSION } from '@causeway/shared';
import type { Kind } from '../store/records.ts';
import { pluralOf } from './documents.ts';
import { adminErrorCodes } from './error-replies.ts';

const errorResponse = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
/** What any protected operation may answer besides its own results. */
const commonErrors = { 401: errorResponse, 503: errorResponse };
/** ... and any operation that takes a body. */
const bodyErrors = { 400: errorResponse, 413: errorResponse, 415: errorResponse };
const publicOperation = (summary: string, description: string) => ({ get: { summary, security: [], responses: { 200: { description } } } });
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$' } };
const ifMatch = { name: 'If-Match', in: 'header', required: false, schema: { type: 'string' }, description: 'ETag from a GET; 412 if the resource changed since' };

function resourcePaths(kind: Kind) {
  const doc = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Document' } } } };
  return {
    [`/v1/${pluralOf[kind]}`]: {
      get: { summary: `List ${kind} resources`, responses: { 200: { description: 'The list' }, ...commonErrors } },
    },
    [`/v1/${pluralOf[kind]}/{name}`]: {
      parameters: [nameParam],
      get: { summary: `Read one ${kind}`, responses: { 200: { description: 'The resource; ETag is its revision', ...doc }, 404: errorResponse, ...commonErrors } },
      put: {
        summary: `Create or replace a ${kind} (JSON or YAML)`,
        parameters: [ifMatch],
        requestBody: { required: true, ...doc },
        responses: { 200: { description: 'Replaced', ...doc }, 201: { description: 'Created', ...doc }, ...bodyErrors, 409: errorResponse, 412: errorResponse, ...commonErrors },
      },
      delete: { summary: `Delete a ${kind}`, parameters: [ifMatch], responses: { 200: { description: 'Deleted' }, 404: errorResponse, 409: errorResponse, 412: errorResponse, ...commonErrors } },
    },
  };
}

/** The admin API described for tools (served at /v1/openapi.json). */
export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: { title: 'Causeway admin API', version: SOFTWARE_VERSION },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Document: {
          type: 'object',
          required: ['spec'],
          properties: {
            apiVersion: { const: 'causeway/v1' },
            kind: { enum: Object.keys(pluralOf) },
            metadata: { type: 'object', properties: { name: { type: 'string' }, labels: { type: 'object', additionalProperties: { type: 'string' } }, revision: { type: 'integer', readOnly: true } } },
            spec: { type: 'object' },
          },
        },
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: {
                code: { enum: [...adminErrorCodes] },
                message: { type: 'string' },
                details: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
              },
            },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      ...Object.assign({}, ...(Object.keys(pluralOf) as Kind[]).map(resourcePaths)),
      '/v1/apply': {
        post: {
          summary: 'Create or replace many resources as one write (one revision, all or nothing)',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Document' } } } } } },
          },
          responses: {
            200: { description: 'Per item: created, updated or unchanged; the revision (null when nothing changed)' },
            ...bodyErrors,
            409: errorResponse,
            429: { ...errorResponse, description: 'A large body (over 1 MiB, or chunked) while another is processed and the queue is full; see Retry-After' },
            ...commonErrors,
          },
        },
      },
      '/v1/runtimes': { get: { summary: 'Runtimes, where they stream from, what they applied and their last NACK', responses: { 200: { description: 'The list' }, ...commonErrors } } },
      '/v1/controllers': { get: { summary: 'Controller replicas', responses: { 200: { description: 'The list' }, ...commonErrors } } },
      '/v1/openapi.json': publicOperation('This document', 'OpenAPI 3.1'),
      '/healthz': publicOperation('Liveness', 'The process is up'),
      '/readyz': { get: { summary: 'Readiness: loaded, and the database answers', security: [], responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready; `failed` names the checks that failed' } } } },
      '/metrics': publicOperation('Prometheus metrics', 'Text exposition format'),
    },
  };
}
