import type { FastifySchema } from 'fastify';
import type { JsonSchema } from './document-schemas.ts';
import { bodyErrors, consumes, errors, ok, params, slug, time } from './schema-helpers.ts';

const tags = ['Consumers'];
const id = { type: 'string', pattern: '^key_[0-9a-f]{16}$', description: 'the key id (not secret)' };
const keyFields: Record<string, JsonSchema> = {
  id,
  consumer: slug,
  name: { type: 'string', maxLength: 64 },
  createdBy: { type: 'string' },
  createdAt: time,
  revokedAt: { type: ['string', 'null'], format: 'date-time' },
};
const keyOf = params({ name: { ...slug, description: "the consumer's name" } });

/** Keys of consumers: made, listed (never their secrets) and revoked. */
export const consumerRouteSchemas = {
  listConsumerKeys: {
    tags,
    operationId: 'listConsumerKeys',
    summary: "A consumer's API keys, revoked ones too; never their secrets",
    params: keyOf,
    response: { 200: ok('The keys', { type: 'object', properties: { kind: { const: 'ConsumerKeyList' }, items: { type: 'array', items: { type: 'object', properties: keyFields } } } }), ...errors(403, 404) },
  },
  createConsumerKey: {
    tags,
    operationId: 'createConsumerKey',
    summary: 'Make an API key for a consumer; the secret (cwk_…) is in this answer only, runtimes get its SHA-256 digest',
    consumes,
    params: keyOf,
    body: { type: 'object', additionalProperties: false, properties: { name: { type: 'string', maxLength: 64, description: 'a label for people; not secret' } } },
    response: { 201: ok('The key, with its secret', { type: 'object', properties: { ...keyFields, kind: { const: 'ConsumerKey' }, secret: { type: 'string' } } }), ...errors(...bodyErrors, 403, 404, 409) },
  },
  revokeConsumerKey: {
    tags,
    operationId: 'revokeConsumerKey',
    summary: 'Revoke an API key: runtimes refuse it within a second',
    params: params({ name: slug, id }),
    response: { 200: ok('The revoked key', { type: 'object', properties: { ...keyFields, kind: { const: 'ConsumerKey' } } }), ...errors(403, 404) },
  },
} satisfies Record<string, FastifySchema>;
