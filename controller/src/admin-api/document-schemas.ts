import {
  apiRules,
  gatewayRules,
  healthCheckRules,
  httpMethods,
  labelKeyPattern,
  labelValuePattern,
  lbPolicies,
  MAX_BASE_PATH_LENGTH,
  MAX_URL_LENGTH,
  overrideRules,
  policyFields,
  policyRules,
  poolRules,
  slugPattern,
  zoneRules,
  type Range,
} from '@causeway/shared';
import { consumerRules, kinds, type Kind } from '../store/records.ts';
import { adminErrorCodes, MAX_DETAILS, MAX_TEXT } from './error-replies.ts';
import { API_VERSION } from './validate.ts';

/** A JSON schema as fastify and @fastify/swagger read it. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** A reference to one of `documentSchemas` from a route's schema. */
export const ref = (id: string): JsonSchema => ({ $ref: `${id}#` });

/** A whole number within one of the shared ranges, with its default. */
const range = (r: Range, description?: string): JsonSchema => ({
  type: 'integer',
  minimum: r.min,
  maximum: r.max,
  default: r.default,
  ...(description === undefined ? {} : { description }),
});

const slug = { type: 'string', pattern: slugPattern.source, maxLength: 32 } as const;
const uniqueSlugs = (maxItems: number, description: string): JsonSchema => ({ type: 'array', items: slug, maxItems, uniqueItems: true, default: [], description });
const strictObject = (properties: Record<string, JsonSchema>, required: readonly string[] = []): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  ...(required.length === 0 ? {} : { required }),
  properties,
});
const upstreamUrl = (description: string): JsonSchema => ({ type: 'string', maxLength: MAX_URL_LENGTH, description });
const readOnlyTime = { type: 'string', format: 'date-time', readOnly: true } as const;

const gatewaySpec = strictObject(
  {
    url: upstreamUrl('`http://` or `https://` origin with an optional path; no credentials, query or fragment. Stored canonical.'),
    zone: { ...slug, default: 'default' },
    healthCheck: strictObject({
      path: { type: 'string', maxLength: healthCheckRules.maxPathLength, default: healthCheckRules.path, description: "starts with '/', printable ASCII without spaces or '#'" },
      intervalMs: range(healthCheckRules.intervalMs),
      timeoutMs: range(healthCheckRules.timeoutMs, 'at most intervalMs; the default is the shorter of this default and intervalMs'),
      healthyThreshold: range(healthCheckRules.healthyThreshold),
      unhealthyThreshold: range(healthCheckRules.unhealthyThreshold),
    }),
    handshakePath: {
      type: 'string',
      maxLength: gatewayRules.maxHandshakePathLength,
      default: gatewayRules.handshakePath,
      description: "dedicated allocations: POST here hands the gateway its tenant, DELETE takes it back; the rule of healthCheck.path",
    },
  },
  ['url'],
);

const poolSpec = strictObject({
  members: uniqueSlugs(poolRules.maxMembers, 'names of gateways of the same org'),
  description: { type: 'string', maxLength: poolRules.maxDescriptionLength, default: '' },
});

const zoneSpec = strictObject({
  dtcUrl: { ...upstreamUrl("the zone's public entry for cross-zone traffic, with the rule of a gateway url; '' for none"), default: '' },
  failoverEligible: { type: 'boolean', default: zoneRules.failoverEligible },
  failoverPriority: range(zoneRules.failoverPriority, 'lower first'),
  issuers: {
    type: 'array',
    items: { type: 'object' },
    maxItems: policyRules.jwt.maxIssuers,
    default: [],
    description: "identity providers of the zone's clients, each {issuer, jwksUri | jwks, audiences} as in a jwt policy; see docs/policies.md",
  },
});

const consumerSpec = strictObject({
  description: { type: 'string', maxLength: consumerRules.maxDescriptionLength, default: '' },
});

/** Field by field, the rules are those of shared/src/rules/policies.ts (docs/policies.md); errors name the field. */
const policiesSchema: JsonSchema = {
  ...strictObject(
    Object.fromEntries(
      [
        ...policyFields.map((field) => [field, field === 'maxRequestBodyBytes' ? { type: 'integer', minimum: policyRules.maxRequestBodyBytes.min, maximum: policyRules.maxRequestBodyBytes.max } : { type: 'object' }]),
        [
          'overrides',
          {
            type: 'array',
            items: { type: 'object', description: '{match: {methods, pathPrefix}, policies}: the first that matches a request replaces each policy it names' },
            maxItems: overrideRules.maxOverrides,
          },
        ],
      ],
    ),
  ),
  description: 'CORS, IP access, body size, JWT or API key, rate limit and header policies, applied by runtimes in that order; see docs/policies.md',
};

const apiSpec = strictObject(
  {
    basePath: { type: 'string', minLength: 1, maxLength: MAX_BASE_PATH_LENGTH, description: "starts with '/'; whole segments; at most this long in canonical form, as stored" },
    hosts: {
      type: 'array',
      items: { type: 'string', maxLength: apiRules.maxHostLength, description: 'a lowercase host name without port' },
      maxItems: apiRules.maxHosts,
      uniqueItems: true,
      default: [],
      description: 'empty: any host',
    },
    methods: { type: 'array', items: { enum: [...httpMethods] }, uniqueItems: true, default: [], description: 'empty: every method' },
    stripBasePath: { type: 'boolean', default: apiRules.stripBasePath },
    upstream: { oneOf: [strictObject({ gateway: slug }, ['gateway']), strictObject({ pool: slug }, ['pool'])], description: 'a gateway or pool of the same org' },
    timeouts: strictObject({ connectMs: range(apiRules.timeouts.connectMs), requestMs: range(apiRules.timeouts.requestMs) }),
    retries: strictObject({
      attempts: range(apiRules.retries.attempts, 'extra attempts, each on another member'),
      perTryTimeoutMs: range(apiRules.retries.perTryTimeoutMs, '0: the request timeout'),
    }),
    loadBalancing: { enum: [...lbPolicies], default: apiRules.loadBalancing },
    failover: strictObject({
      enabled: { type: 'boolean', default: apiRules.failoverEnabled },
      zones: uniqueSlugs(apiRules.maxFailoverZones, 'zones in priority order; empty: every eligible zone with a DTC URL'),
    }),
    runtimeSelector: strictObject({
      matchLabels: {
        type: 'object',
        propertyNames: { pattern: labelKeyPattern.source },
        additionalProperties: { type: 'string', pattern: labelValuePattern.source },
        maxProperties: apiRules.maxRuntimeSelectorLabels,
        default: {},
        description: "served by the runtimes (of its org, or shared) whose certified labels include every one of these; empty: all of them",
      },
    }),
    policies: policiesSchema,
  },
  ['basePath', 'upstream'],
);

const specs: Readonly<Record<Kind, JsonSchema>> = { Api: apiSpec, Consumer: consumerSpec, Gateway: gatewaySpec, GatewayPool: poolSpec, Zone: zoneSpec };

const metadata = strictObject({
  name: { ...slug, description: 'may be omitted where the URL names the resource' },
  labels: {
    type: 'object',
    propertyNames: { pattern: '^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$' },
    additionalProperties: { type: 'string', maxLength: 63 },
    default: {},
  },
  revision: { type: 'integer', readOnly: true, description: 'the revision that last wrote it; its ETag' },
  createdAt: readOnlyTime,
  updatedAt: readOnlyTime,
});

/** What a GET adds to a gateway and to each member of a pool. */
const healthFields = {
  health: { enum: ['healthy', 'unhealthy', 'unknown'] },
  reason: { type: 'string' },
  lastHeartbeatAt: { type: ['string', 'null'], format: 'date-time' },
  checkedAt: { type: ['string', 'null'], format: 'date-time' },
} as const;

const deploymentStatus = {
  type: 'object',
  properties: {
    api: { type: 'string' },
    revision: { type: 'integer' },
    summary: { type: 'object', properties: { total: { type: 'integer' }, acked: { type: 'integer' }, nacked: { type: 'integer' }, pending: { type: 'integer' } } },
    runtimes: {
      type: 'array',
      items: {
        type: 'object',
        properties: { nodeId: { type: 'string' }, zone: { type: 'string' }, controller: { type: ['string', 'null'] }, state: { enum: ['acked', 'nacked', 'pending'] }, error: { type: 'string' } },
      },
    },
  },
} as const;

/** What a GET or a write adds to a document besides its spec, by kind (zones have none). */
const statusOf: Partial<Record<Kind, JsonSchema>> = {
  Gateway: { type: 'object', properties: healthFields },
  GatewayPool: {
    type: 'object',
    properties: {
      status: { enum: ['healthy', 'degraded', 'down'] },
      memberCount: { type: 'integer' },
      healthyMemberCount: { type: 'integer' },
      health: { type: 'string', description: 'healthy/total, e.g. "2/3"' },
      members: { type: 'array', items: { type: 'object', properties: { gateway: slug, ...healthFields } } },
      usedByCount: { type: 'integer', description: 'APIs using the pool' },
      allocatedCount: { type: 'integer', description: 'members held by dedicated allocations' },
      freeCount: { type: 'integer', description: 'members an allocation could take now: healthy, not held, not named by an API, not quarantined' },
      quarantinedCount: { type: 'integer', description: 'members whose allocation could not be undone, until seen healthy again' },
    },
  },
  Api: {
    type: 'object',
    properties: {
      deployment: ref('DeploymentReport'),
      restoredRevision: { type: 'integer', description: 'after a rollback: the revision whose spec was restored' },
    },
  },
};

function documentSchema(kind: Kind): JsonSchema {
  const status = statusOf[kind];
  const properties = { apiVersion: { const: API_VERSION }, kind: { const: kind }, metadata, spec: ref(`${kind}Spec`) };
  return { $id: kind, ...strictObject(status === undefined ? properties : { ...properties, status: { ...status, readOnly: true } }, ['spec']) };
}

const listOf = (itemKind: string, items: JsonSchema): JsonSchema => ({
  type: 'object',
  properties: {
    apiVersion: { const: API_VERSION },
    kind: { const: itemKind },
    items: { type: 'array', items },
    nextCursor: { type: ['string', 'null'], description: 'where the next page starts (with `limit`); null on the last page and without `limit`' },
  },
});

/**
 * The schemas of the admin API's documents, each named by its `$id` (`Api`, `ApiSpec`,
 * `ApiList`, …): the specs are made from the shared rules, so their defaults and bounds are
 * those the controller applies. `Document` stands for the kind a `/v1/{plural}` path names.
 */
export const documentSchemas: readonly JsonSchema[] = [
  ...kinds.flatMap((kind) => [{ $id: `${kind}Spec`, ...specs[kind] }, documentSchema(kind), { $id: `${kind}List`, ...listOf(`${kind}List`, ref(kind)) }]),
  { $id: 'Document', oneOf: kinds.map(ref) },
  { $id: 'DocumentList', oneOf: kinds.map((kind) => ref(`${kind}List`)) },
  { $id: 'DeploymentStatus', ...deploymentStatus },
  {
    $id: 'Error',
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { enum: [...adminErrorCodes] },
          message: { type: 'string', maxLength: MAX_TEXT },
          details: { type: 'array', maxItems: MAX_DETAILS, items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } }, description: 'for invalid_argument: every bad field' },
        },
      },
    },
  },
  {
    $id: 'DeploymentReport',
    type: 'object',
    properties: {
      outcome: { enum: ['converged', 'failed', 'timed-out', 'rolled-back'] },
      status: ref('DeploymentStatus'),
      detail: { type: 'string' },
      rollbackRevision: { type: 'integer', description: 'the revision that rolled it back' },
      restoredRevision: { type: ['integer', 'null'], description: 'the revision restored; null when the API was new and the rollback deleted it' },
    },
  },
];
