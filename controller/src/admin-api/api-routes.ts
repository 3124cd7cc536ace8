import type { FastifyInstance } from 'fastify';
import { CausewayError } from '@causeway/shared';
import type { Deployer } from '../deployment/deployer.ts';
import { etag, toDocument } from './documents.ts';
import { API_VERSION } from './validate.ts';
import { SMALL_BODY_BYTES } from './body-parsers.ts';
import { routeSchemas } from './route-schemas.ts';

/** Revisions, rollback and deployment status of APIs. */
export function registerApiRoutes(app: FastifyInstance, deployer: Deployer): void {
  app.get<{ Params: { name: string } }>('/v1/apis/:name/revisions', { schema: routeSchemas.listApiRevisions }, async (request) => {
    const revisions = await deployer.revisions(request.principal.org, request.params.name);
    return {
      apiVersion: API_VERSION,
      kind: 'ApiRevisionList',
      items: revisions.map((r) => ({ revision: r.revision, createdAt: r.createdAt.toISOString(), labels: r.labels, spec: r.spec })),
    };
  });

  app.post<{ Params: { name: string }; Body: { revision?: unknown } | undefined }>('/v1/apis/:name/rollback', { schema: routeSchemas.rollbackApi, bodyLimit: SMALL_BODY_BYTES }, async (request, reply) => {
    const wanted = request.body?.revision;
    if (wanted !== undefined && (typeof wanted !== 'number' || !Number.isInteger(wanted) || wanted < 1)) {
      throw CausewayError.invalid([{ path: 'revision', message: `${JSON.stringify(wanted)} is not a revision number` }]);
    }
    const result = await deployer.rollback(request.principal.org, request.params.name, wanted);
    reply.header('etag', etag(result.record.revision));
    return { ...toDocument(result.record), status: { restoredRevision: result.restoredRevision } };
  });

  app.get<{ Params: { name: string } }>('/v1/apis/:name/status', { schema: routeSchemas.getApiStatus }, async (request) => {
    const status = await deployer.status(request.principal.org, request.params.name);
    return { apiVersion: API_VERSION, kind: 'ApiDeploymentStatus', ...status };
  });
}
