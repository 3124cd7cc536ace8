import Fastify, { type FastifyInstance } from 'fastify';
import { CausewayError, type Logger } from '@causeway/shared';
import type { ControllerMetrics } from '../metrics.ts';
import { registerApiRoutes } from './api-routes.ts';
import { registerUpstreamRoutes, type UpstreamRouteDeps } from './upstream-routes.ts';
import { registerResourceRoutes } from './resource-routes.ts';
import type { Deployer } from '../deployment/deployer.ts';
import { registerStatusRoutes, type StatusSources } from './status-routes.ts';
import { registerOpenApi } from './openapi.ts';
import { routeSchemas } from './route-schemas.ts';
import type { ResourceStore } from '../store/resource-store.ts';
import { createAuthenticator, publicRoute } from './access.ts';
import { DOCUMENT_BODY_BYTES, registerBodyParsers } from './body-parsers.ts';
import { adminErrorHandler, clientErrorHandler, frameworkError, sendError } from './error-replies.ts';
import { LargeBodyGate } from './large-body-gate.ts';

export interface AdminServerOptions {
  readonly adminToken: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly store: ResourceStore;
  readonly deployer: Deployer;
  readonly pools: UpstreamRouteDeps;
  readonly status: StatusSources;
  /** Large applies that may wait for the one in progress, and for how long. */
  readonly largeApplies: { readonly maxWaiting: number; readonly maxWaitMs: number };
  /** Told of every route as it is registered (its method, URL and whether it is public). */
  readonly onRoute?: (route: AdminRoute) => void;
}

export interface AdminRoute {
  readonly method: string;
  readonly url: string;
  readonly public: boolean;
}

/** Who made a request; every query is scoped by `org`. */
interface Principal {
  readonly org: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

/** A whole request (headers and body) must arrive within this; a large apply waiting its turn counts. */
const REQUEST_TIMEOUT_MS = 300_000;

/** Route paths are matched exactly as written: one spelling per resource (see docs/security.md). */
const routerOptions = {
  caseSensitive: true,
  ignoreTrailingSlash: false,
  ignoreDuplicateSlashes: false,
  // The longest segment that names something is a 32-character slug.
  maxParamLength: 64,
} as const;

export function createAdminServer(options: AdminServerOptions): FastifyInstance {
  const auth = createAuthenticator(options.adminToken);
  const app = Fastify({
    logger: false,
    bodyLimit: DOCUMENT_BODY_BYTES,
    // Answered below, in the one error envelope.
    return503OnClosing: false,
    requestTimeout: REQUEST_TIMEOUT_MS,
    routerOptions,
    clientErrorHandler,
    // A bad URL or an over-long segment: answered before routing, so authenticated here too.
    frameworkErrors: (error, request, reply) => {
      if (!auth.authenticated(request)) return auth.refuse(reply);
      return sendError(reply, frameworkError(error, undefined) ?? CausewayError.from(error));
    },
  });
  app.decorateRequest('principal', { getter: () => ({ org: 'default' }) });
  registerBodyParsers(app);

  if (options.onRoute !== undefined) {
    const report = options.onRoute;
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) report({ method, url: route.url, public: route.config?.public === true });
    });
  }
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // While closing, new requests go to another replica: 503 before anything else.
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return undefined;
    reply.header('connection', 'close');
    return sendError(reply, new CausewayError('unavailable', 'this controller is shutting down; retry on another replica'));
  });
  app.addHook('onRequest', auth.onRequest);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpRequests.inc({ route: `${request.method} ${route}`, status: `${Math.floor(reply.statusCode / 100)}xx` });
  });
  app.setErrorHandler(adminErrorHandler(options.log, options.metrics));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new CausewayError('not_found', `no such endpoint: ${request.method} ${request.url.split('?')[0]?.slice(0, 256) ?? ''}`)),
  );

  const largeBodies = new LargeBodyGate({ ...options.largeApplies, metrics: options.metrics });
  registerOpenApi(app);
  // Once the OpenAPI plugin has loaded, so that it sees every route.
  app.after(() => {
    app.get('/v1/openapi.json', { ...publicRoute, schema: routeSchemas.openapi }, async () => app.swagger());
    registerApiRoutes(app, options.deployer);
    registerUpstreamRoutes(app, options.pools);
    registerResourceRoutes(app, options.store, options.deployer, largeBodies);
    registerStatusRoutes(app, options.status, options.metrics);
  });
  return app;
}
