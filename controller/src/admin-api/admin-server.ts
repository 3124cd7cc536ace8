import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { parseAllDocuments } from 'yaml';
import { CausewayError, type Logger } from '@causeway/shared';
import type { ControllerMetrics } from '../metrics.ts';
import { registerApiRoutes } from './api-routes.ts';
import { registerUpstreamRoutes, type UpstreamRouteDeps } from './upstream-routes.ts';
import { registerResourceRoutes } from './resource-routes.ts';
import type { Deployer } from '../deployment/deployer.ts';
import { registerStatusRoutes, type StatusSources } from './status-routes.ts';
import { openApiDocument } from './openapi.ts';
import type { ResourceStore } from '../store/resource-store.ts';

export interface AdminServerOptions {
  readonly adminToken: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly store: ResourceStore;
  readonly deployer: Deployer;
  readonly pools: UpstreamRouteDeps;
  readonly status: StatusSources;
}

/** Who made a request; every query is scoped by `org`. */
export interface Principal {
  readonly org: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

const yamlTypes = ['application/yaml', 'application/x-yaml', 'text/yaml'];

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function sendError(reply: FastifyReply, error: CausewayError): FastifyReply {
  return reply.code(error.httpStatus).type('application/json').send({ error: error.toJSON() });
}

/** Errors raised by fastify itself (bad JSON, wrong media type, body too large). */
function fromFastifyError(error: { statusCode?: number; code?: string; message: string }): CausewayError | undefined {
  if (error.statusCode === 415) return new CausewayError('unsupported_media_type', 'send application/json or application/yaml');
  if (error.statusCode === 413) return new CausewayError('payload_too_large', 'the request body is too large');
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return CausewayError.invalid([{ path: '(body)', message: `cannot be parsed: ${error.message}` }]);
  }
  return undefined;
}

export function createAdminServer(options: AdminServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024, return503OnClosing: true });
  const tokenDigest = digest(options.adminToken);
  app.decorateRequest('principal', { getter: () => ({ org: 'default' }) });

  // An empty body (a DELETE sent with a JSON content type) is no body, not an error.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      done(CausewayError.invalid([{ path: '(body)', message: `is not valid JSON: ${message}` }]), undefined);
    }
  });
  app.addContentTypeParser(yamlTypes, { parseAs: 'string' }, (_req, body, done) => {
    try {
      const docs = parseAllDocuments(body as string);
      const errors = docs.flatMap((d) => d.errors);
      if (errors.length > 0) throw errors[0];
      const values = docs.map((d) => d.toJS() as unknown).filter((v) => v !== null && v !== undefined);
      done(null, values.length === 1 ? values[0] : values);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      done(CausewayError.invalid([{ path: '(body)', message: `is not valid YAML: ${message}` }]), undefined);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/v1/') || request.url === '/v1/openapi.json') return;
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') === true ? header.slice(7).trim() : undefined;
    if (token === undefined || !timingSafeEqual(digest(token), tokenDigest)) {
      reply.header('www-authenticate', 'Bearer realm="causeway"');
      return sendError(reply, new CausewayError('unauthenticated', 'a valid bearer token is required (Authorization: Bearer <token>)'));
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpRequests.inc({ route: `${request.method} ${route}`, status: `${Math.floor(reply.statusCode / 100)}xx` });
  });

  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof CausewayError) return sendError(reply, error);
    const fastifyError = typeof error === 'object' && error !== null ? fromFastifyError(error as { message: string }) : undefined;
    if (fastifyError !== undefined) return sendError(reply, fastifyError);
    options.log.error({ err: error, method: request.method, url: request.url }, 'admin request failed');
    return sendError(reply, CausewayError.from(error));
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new CausewayError('not_found', `no such endpoint: ${request.method} ${request.url.split('?')[0]}`)),
  );

  app.get('/v1/openapi.json', async () => openApiDocument());
  registerApiRoutes(app, options.deployer);
  registerUpstreamRoutes(app, options.pools);
  registerResourceRoutes(app, options.store, options.deployer);
  registerStatusRoutes(app, options.status, options.metrics);
  return app;
}
