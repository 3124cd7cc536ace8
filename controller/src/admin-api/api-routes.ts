import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CausewayError } from '@causeway/shared';
import type { Deployer } from '../deployment/deployer.ts';
import type { Sql } from '../store/database.ts';
import { ResourceStore } from '../store/resource-store.ts';
import { needs } from './access.ts';
import { authorizeWrites } from './write-access.ts';
import { etag, toDocument } from './documents.ts';
import { API_VERSION } from './validate.ts';
import { SMALL_BODY_BYTES } from './body-parsers.ts';
import { routeSchemas } from './route-schemas.ts';

/** Revisions, rollback and deployment status of APIs. */
export function registerApiRoutes(app: FastifyInstance, sql: Sql, deployer: Deployer): void {
  const storeOf = (request: FastifyRequest): ResourceStore => new ResourceStore(sql, request.scope);

  app.get<{ Params: { name: string } }>('/v1/apis/:name/revisions', { ...needs({ subject: 'apis', action: 'read' }), schema: routeSchemas.listApiRevisions }, async (request) => {
    const revisions = await deployer.revisions(storeOf(request), request.params.name);
    return {
      apiVersion: API_VERSION,
      kind: 'ApiRevisionList',
      items: revisions.map((r) => ({ revision: r.revision, createdAt: r.createdAt.toISOString(), labels: r.labels, spec: r.spec })),
    };
  });

  app.post<{ Params: { name: string }; Body: { revision?: unknown } | undefined }>('/v1/apis/:name/rollback', { ...needs({ subject: 'apis', action: 'edit' }), schema: routeSchemas.rollbackApi, bodyLimit: SMALL_BODY_BYTES }, async (request, reply) => {
    const wanted = request.body?.revision;
    if (wanted !== undefined && (typeof wanted !== 'number' || !Number.isInteger(wanted) || wanted < 1)) {
      throw CausewayError.invalid([{ path: 'revision', message: `${JSON.stringify(wanted)} is not a revision number` }]);
    }
    const result = await deployer.rollback(storeOf(request), request.params.name, wanted, (target) => authorizeWrites(request.principal, storeOf(request), [target]));
    reply.header('etag', etag(result.record.revision));
    return { ...toDocument(result.record), status: { restoredRevision: result.restoredRevision } };
  });

  app.get<{ Params: { name: string } }>('/v1/apis/:name/status', { ...needs({ subject: 'apis', action: 'read' }), schema: routeSchemas.getApiStatus }, async (request) => {
    const status = await deployer.status(storeOf(request), request.params.name);
    return { apiVersion: API_VERSION, kind: 'ApiDeploymentStatus', ...status };
  });
}
