import type { FastifyInstance } from 'fastify';
import type { Sql } from '../store/database.ts';
import { ConsumerKeyStore, type ConsumerKeyRecord } from '../store/consumer-keys.ts';
import { needs } from './access.ts';
import { SMALL_BODY_BYTES } from './body-parsers.ts';
import { Checker } from './checker.ts';
import { routeSchemas } from './route-schemas.ts';
import { API_VERSION } from './validate.ts';

function keyDocument(key: ConsumerKeyRecord) {
  return {
    apiVersion: API_VERSION,
    kind: 'ConsumerKey',
    id: key.id,
    consumer: key.consumer,
    name: key.name,
    createdBy: key.createdBy,
    createdAt: key.createdAt.toISOString(),
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

/** `{"name": "mobile app"}`, every field optional. */
function keyName(body: unknown): string {
  const c = new Checker();
  const fields = c.object('(body)', body ?? {}, ['name']) ?? {};
  const name = c.string('name', fields.name, '', 64);
  c.done();
  return name;
}

/** API keys of consumers (the Consumer documents themselves go through the routes every kind shares). */
export function registerConsumerRoutes(app: FastifyInstance, sql: Sql): void {
  type Params = { Params: { name: string } };
  app.get<Params>('/v1/consumers/:name/keys', { ...needs({ subject: 'consumers', action: 'read' }), schema: routeSchemas.listConsumerKeys }, async (request) => ({
    apiVersion: API_VERSION,
    kind: 'ConsumerKeyList',
    items: (await new ConsumerKeyStore(sql, request.scope).list(request.params.name)).map(keyDocument),
  }));

  app.post<Params>('/v1/consumers/:name/keys', { ...needs({ subject: 'consumers', action: 'edit' }), schema: routeSchemas.createConsumerKey, bodyLimit: SMALL_BODY_BYTES }, async (request, reply) => {
    const created = await new ConsumerKeyStore(sql, request.scope).create(request.params.name, keyName(request.body));
    reply.code(201).header('location', `/v1/consumers/${request.params.name}/keys/${created.id}`);
    return { ...keyDocument(created), secret: created.secret };
  });

  app.delete<{ Params: { name: string; id: string } }>('/v1/consumers/:name/keys/:id', { ...needs({ subject: 'consumers', action: 'edit' }), schema: routeSchemas.revokeConsumerKey }, async (request) =>
    keyDocument(await new ConsumerKeyStore(sql, request.scope).revoke(request.params.name, request.params.id)),
  );
}
