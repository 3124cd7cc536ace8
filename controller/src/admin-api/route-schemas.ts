import type { FastifySchema } from 'fastify';
import { kinds } from '../store/records.ts';
import { accessRouteSchemas } from './access-route-schemas.ts';
import { runtimeRouteSchemas } from './runtime-route-schemas.ts';
import { allocationRouteSchemas } from './allocation-route-schemas.ts';
import { consumerRouteSchemas } from './consumer-route-schemas.ts';
import { deploymentRouteSchemas } from './deployment-route-schemas.ts';
import { DOCUMENT_BODY_BYTES, SMALL_BODY_BYTES } from './body-parsers.ts';
import { ref } from './document-schemas.ts';
import { namePageQuery } from './list-cursor.ts';
import { anyKind, bodyErrors, check, consumes, errorResponse, errors, etag, force, ifMatch, KINDS_KEY, list, named, ok, params, plural, slug, tags, time, trueOrFalse } from './schema-helpers.ts';

import { LARGE_BODY_BYTES, LARGE_BODY_RETRY_AFTER_SECONDS } from './large-body-gate.ts';


/** One item of an apply's answer; `changes` on a dry run only. */
const applyItem = {
  type: 'object',
  properties: {
    kind: { enum: [...kinds] }, name: slug, result: { enum: ['created', 'updated', 'unchanged'] }, revision: { type: 'integer' },
    changes: { type: 'array', description: 'dry run: each field that would change, stored value and new', items: { type: 'object', properties: { field: { type: 'string' }, before: {}, after: {} } } },
  },
};

/** An API put on a pool with no member that could serve (empty, or every member known to be down) is saved, with a warning. */
const warned = { warnings: { type: 'array', items: { type: 'string' }, description: 'why the write may serve nothing (an API on a pool with no healthy member); absent when none' } };
const warning = { type: 'string', description: 'each of `warnings`, as 199 causeway "…"' };
const writeHeaders = { etag, 'causeway-result': { enum: ['created', 'updated', 'unchanged'] }, warning };
const documentWarned = { allOf: [ref('Document'), { type: 'object', properties: warned }] };

/** GET (list and one), PUT and DELETE of every kind, and POST /v1/apply. */
const resources = {
  listDocuments: {
    tags: tags.resources,
    operationId: 'listDocuments',
    summary: 'List the Documents by name: all of them, or a page of `limit` and the next after `cursor`',
    params: params({ plural }),
    querystring: namePageQuery,
    response: { 200: ok('The list', ref('DocumentList')), ...errors(400, 404) },
  },
  getDocument: { tags: tags.resources, operationId: 'getDocument', summary: 'Read one Document', params: anyKind, response: { 200: ok('The resource', ref('Document'), { etag }), ...errors(404) } },
  putDocument: {
    tags: tags.resources,
    operationId: 'putDocument',
    summary: 'Create or replace one Document',
    description: `JSON or YAML, at most ${DOCUMENT_BODY_BYTES} bytes. The stored spec has every default filled in; a document equal to what is stored changes nothing and takes no revision.`,
    params: anyKind,
    headers: ifMatch,
    querystring: {
      type: 'object',
      properties: {
        force,
        wait: {
          type: 'string',
          pattern: '^\\d+(\\.\\d+)?(ms|s|m)?$',
          description: 'wait until every runtime applied or rejected the revision, or this long (500ms, 10s, 2m; a bare number is seconds; at most 5m); the answer reports the deployment in status.deployment',
          [KINDS_KEY]: ['Api'],
        },
        rollbackOnFailure: trueOrFalse('with wait: restore the previous revision when a runtime rejects it or does not answer in time', 'Api'),
      },
    },
    consumes,
    body: ref('Document'),
    response: {
      200: ok('Replaced, or unchanged', documentWarned, writeHeaders),
      201: ok('Created', documentWarned, { ...writeHeaders, location: { type: 'string' } }),
      ...errors(...bodyErrors, 404, 409, 412),
    },
  },
  deleteDocument: {
    tags: tags.resources,
    operationId: 'deleteDocument',
    summary: 'Delete one Document',
    params: anyKind,
    headers: ifMatch,
    querystring: { type: 'object', properties: { force } },
    response: {
      200: ok('Deleted', {
        type: 'object',
        properties: { kind: { const: 'Status' }, status: { const: 'deleted' }, metadata: { type: 'object', properties: { name: slug, kind: { enum: [...kinds] }, revision: { type: 'integer' } } } },
      }),
      ...errors(404, 409, 412),
    },
  },
  apply: {
    tags: tags.resources,
    operationId: 'apply',
    summary: 'Create or replace many resources as one write: one revision, all or nothing',
    description: `Items in any order, each with its kind; every invalid item is reported with its index (items[3].spec.basePath). A body over ${LARGE_BODY_BYTES} bytes, or chunked, waits for the large apply in progress.`,
    querystring: { type: 'object', properties: { force, dryRun: trueOrFalse('check everything a write would and answer what it would do (with the fields each item would change), writing nothing') } },
    consumes,
    body: { type: 'object', required: ['items'], additionalProperties: false, properties: { items: { type: 'array', minItems: 1, items: ref('Document') } } },
    response: {
      200: ok('What each item did (or, with dryRun, would do); revision is null when nothing changed or on a dry run', {
        type: 'object',
        properties: {
          kind: { const: 'ApplyResult' },
          revision: { type: ['integer', 'null'] },
          dryRun: { type: 'boolean' },
          items: { type: 'array', items: applyItem },
          ...warned,
        },
      }, { warning }),
      ...errors(...bodyErrors, 409, 429),
      429: { ...errorResponse(429), headers: { 'retry-after': { type: 'integer', const: LARGE_BODY_RETRY_AFTER_SECONDS } } },
    },
  },
} satisfies Record<string, FastifySchema>;

const poolDocument = ref('GatewayPool');
const smallBody = `at most ${SMALL_BODY_BYTES} bytes`;

/** Gateway pools and the health side of gateways. */
const pools = {
  listGatewayPools: { tags: tags.pools, operationId: 'listGatewayPools', summary: 'List gateway pools with their health: all of them, or a page (`limit`, `cursor`)', querystring: namePageQuery, response: { 200: ok('The list', ref('GatewayPoolList')), ...errors(400) } },
  getGatewayPool: { tags: tags.pools, operationId: 'getGatewayPool', summary: 'Read a gateway pool with its health', params: named('pool'), response: { 200: ok('The pool', poolDocument, { etag }), ...errors(404) } },
  createGatewayPool: {
    tags: tags.pools,
    operationId: 'createGatewayPool',
    summary: 'Create a gateway pool (metadata.name required)',
    consumes,
    body: poolDocument,
    response: { 201: ok('Created', poolDocument, { etag, location: { type: 'string' } }), ...errors(...bodyErrors, 404, 409) },
  },
  patchGatewayPool: {
    tags: tags.pools,
    operationId: 'patchGatewayPool',
    summary: 'Rename a pool (every API using it follows, as a new API revision) or change its description',
    description: smallBody,
    params: named('pool'),
    headers: ifMatch,
    consumes,
    body: {
      type: 'object',
      properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object', additionalProperties: false, properties: { name: slug } }, spec: { type: 'object', additionalProperties: false, properties: { description: { type: 'string' } } } },
    },
    response: { 200: ok('The pool', poolDocument, { etag }), ...errors(...bodyErrors, 404, 409, 412) },
  },
  addPoolMember: {
    tags: tags.pools,
    operationId: 'addPoolMember',
    summary: 'Add a gateway to a pool',
    description: smallBody,
    params: named('pool'),
    consumes,
    body: { type: 'object', required: ['gateway'], additionalProperties: false, properties: { gateway: slug } },
    response: { 201: ok('The pool', poolDocument, { etag }), ...errors(...bodyErrors, 404, 409) },
  },
  removePoolMember: {
    tags: tags.pools,
    operationId: 'removePoolMember',
    summary: 'Remove a gateway from a pool (409 for the last member of a pool in use, unless force)',
    params: params({ name: { ...slug, description: "the pool's name" }, gateway: slug }),
    querystring: { type: 'object', properties: { force } },
    response: { 200: ok('The pool', poolDocument, { etag }), ...errors(404, 409) },
  },
  listPoolResources: {
    tags: tags.pools,
    operationId: 'listPoolResources',
    summary: 'What uses a pool: APIs and live allocations (a pool with live allocations cannot be deleted)',
    params: named('pool'),
    response: {
      200: ok('The APIs using the pool, then its live allocations', {
        type: 'object',
        properties: {
          kind: { const: 'ResourceList' },
          items: { type: 'array', items: { type: 'object', properties: { kind: { enum: ['Api', 'Allocation'] }, name: { type: 'string' }, tenant: slug, state: { type: 'string' } } } },
        },
      }),
      ...errors(404),
    },
  },
  listGateways: { tags: tags.pools, operationId: 'listGateways', summary: 'List gateways with their health: all of them, or a page (`limit`, `cursor`)', querystring: namePageQuery, response: { 200: ok('The list', ref('GatewayList')), ...errors(400) } },
  getGateway: { tags: tags.pools, operationId: 'getGateway', summary: 'Read a gateway with its health', params: named('gateway'), response: { 200: ok('The gateway', ref('Gateway'), { etag }), ...errors(404) } },
  gatewayHeartbeat: {
    tags: tags.pools,
    operationId: 'gatewayHeartbeat',
    summary: 'A heartbeat from a gateway: unhealthy once its last one is older than CAUSEWAY_GATEWAY_HEARTBEAT_TTL_MS',
    description: `Any body, ${smallBody}, is ignored.`,
    params: named('gateway'),
    response: {
      200: ok('Recorded', { type: 'object', properties: { gateway: slug, lastHeartbeatAt: { type: 'string', format: 'date-time' }, ttlMs: { type: 'integer' } } }),
      ...errors(413, 415, 404),
    },
  },
} satisfies Record<string, FastifySchema>;



/** Health, readiness, metrics, the document itself, and who is connected where. */
const status = {
  healthz: { tags: tags.status, operationId: 'healthz', summary: 'Liveness: the process is up', security: [], response: { 200: ok('Up', { type: 'object', properties: { status: { const: 'ok' } } }) } },
  readyz: {
    tags: tags.status,
    operationId: 'readyz',
    summary: 'Readiness: the first full load is done and the database answers',
    security: [],
    response: Object.fromEntries(
      [
        [200, 'Ready'],
        [503, 'Not ready: failed names the checks that failed'],
      ].map(([code, description]) => [
        code,
        ok(String(description), {
          type: 'object',
          properties: {
            status: { enum: ['ready', 'not_ready'] },
            controller: { type: 'string' },
            revision: { type: 'integer' },
            failed: { type: 'array', items: { enum: ['load', 'database'] } },
            checks: { type: 'object', properties: { load: check, database: check } },
            configStream: { type: 'object', properties: { tls: { type: 'boolean', description: 'false: served without TLS (CAUSEWAY_XDS_INSECURE=true)' } } },
            warnings: { type: 'array', items: { type: 'string' }, description: 'not failures: the config stream without TLS, a certificate expiring within 7 days' },
          },
        }),
      ]),
    ),
  },
  metrics: { tags: tags.status, operationId: 'metrics', summary: 'Prometheus metrics', security: [], produces: ['text/plain'], response: { 200: { description: 'Text exposition format', type: 'string' } } },
  openapi: { tags: tags.status, operationId: 'openapi', summary: 'This document (OpenAPI 3.1)', security: [], response: { 200: { description: 'The document', type: 'object' } } },
  listRuntimes: {
    tags: tags.status,
    operationId: 'listRuntimes',
    summary: 'Runtimes that serve the caller’s org (its own and shared ones): where they stream from, what they applied, their last NACK',
    response: {
      200: ok(
        'The list',
        list('RuntimeList', {
          nodeId: { type: 'string' },
          org: { type: ['string', 'null'], description: 'the org it serves; null: every org (a shared runtime, or one streaming without TLS)' },
          zone: { type: 'string' },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          identity: { enum: ['certificate', 'claimed'], description: 'certificate: org, zone, labels and node id come from its client certificate; claimed: from its request (no TLS)' },
          certificate: { type: ['object', 'null'], properties: { serial: { type: ['string', 'null'] }, expiresAt: { type: ['string', 'null'], format: 'date-time' } } },
          revoked: { type: 'boolean' },
          version: { type: 'string' },
          controller: { type: ['string', 'null'] },
          connected: { type: 'boolean' },
          connectedAt: { type: ['string', 'null'], format: 'date-time' },
          lastSeenAt: time,
          appliedRevision: { type: 'integer' },
          ackedRevision: { type: 'integer' },
          lag: { type: 'integer', description: 'revisions behind the newest this replica has read from the log (0: in sync)' },
          lastNack: { type: ['object', 'null'], properties: { revision: { type: 'integer' }, type: { type: 'string' }, error: { type: 'string' }, at: { type: ['string', 'null'], format: 'date-time' } } },
        }),
      ),
      ...errors(),
    },
  },
  listControllers: {
    tags: tags.status,
    operationId: 'listControllers',
    summary: 'Controller replicas',
    response: {
      200: ok(
        'The list',
        list('ControllerList', {
          id: { type: 'string' },
          adminAddress: { type: 'string' },
          xdsAddress: { type: 'string' },
          version: { type: 'string' },
          startedAt: time,
          lastHeartbeatAt: time,
          appliedRevision: { type: 'integer' },
          connectedRuntimes: { type: 'integer' },
          alive: { type: 'boolean', description: 'its last heartbeat is less than 15 s old (one every 5 s)' },
        }),
      ),
      ...errors(),
    },
  },
} satisfies Record<string, FastifySchema>;

/**
 * The `schema` option of every admin route: what the OpenAPI document says of it. It is
 * documentation only (see openapi.ts): bodies are checked by validate.ts, which names the
 * field, the value and the rule.
 */
export const routeSchemas = { ...resources, ...pools, ...deploymentRouteSchemas, ...status, ...accessRouteSchemas, ...runtimeRouteSchemas, ...allocationRouteSchemas, ...consumerRouteSchemas };
