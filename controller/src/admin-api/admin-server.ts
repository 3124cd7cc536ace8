import compress from '@fastify/compress';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { CausewayError, type Logger } from '@causeway/shared';
import type { ControllerMetrics } from '../metrics.ts';
import { registerApiRoutes } from './api-routes.ts';
import { registerStatusEvents } from './status-events.ts';
import { registerUpstreamRoutes, type UpstreamRouteDeps } from './upstream-routes.ts';
import { registerResourceRoutes } from './resource-routes.ts';
import type { Deployer } from '../deployment/deployer.ts';
import { registerStatusRoutes, type StatusSources } from './status-routes.ts';
import { registerAccessRoutes } from './access-routes.ts';
import { registerRuntimeRoutes } from './runtime-routes.ts';
import { registerAllocationRoutes } from './allocation-routes.ts';
import { registerConsumerRoutes } from './consumer-routes.ts';
import { registerConsoleRoutes } from './console-routes.ts';
import type { Allocator } from '../allocation/allocator.ts';
import { registerOpenApi } from './openapi.ts';
import { routeSchemas } from './route-schemas.ts';
import type { Sql } from '../store/database.ts';
import type { Scope } from '../store/resource-store.ts';
import { AdminAccess, publicRoute, requestIdOf, type AccessOptions, type Principal, type RouteNeed } from './access.ts';
import { DOCUMENT_BODY_BYTES, registerBodyParsers } from './body-parsers.ts';
import { adminErrorHandler, clientErrorHandler, frameworkError, sendError } from './error-replies.ts';
import { LargeBodyGate } from './large-body-gate.ts';

export interface AdminServerOptions {
  /** Who may do what: the bootstrap token, orgs, roles and tokens, and what to do with refusals. */
  readonly access: AccessOptions;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly sql: Sql;
  readonly deployer: Deployer;
  /** Resolves once this replica's model holds the revision. */
  readonly caughtUpTo: (revision: number) => Promise<boolean>;
  /** Serve the admin API over TLS with this certificate and key (PEM). */
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly pools: UpstreamRouteDeps;
  readonly status: StatusSources;
  /** Dedicated gateway allocations. */
  readonly allocator: Allocator;
  /** Large applies that may wait for the one in progress, and for how long. */
  readonly largeApplies: { readonly maxWaiting: number; readonly maxWaitMs: number };
  /** Told of every route as it is registered (its method, URL and whether it is public). */
  readonly onRoute?: (route: AdminRoute) => void;
}

export interface AdminRoute {
  readonly method: string;
  readonly url: string;
  readonly public: boolean;
  readonly need: RouteNeed | undefined;
}


/** A whole request (headers and body) must arrive within this; a large apply waiting its turn counts. */
const REQUEST_TIMEOUT_MS = 300_000;
/** Answers smaller than this go uncompressed: gzip would save little and cost a little CPU each. */
const COMPRESS_THRESHOLD_BYTES = 1_024;

/** Route paths are matched exactly as written: one spelling per resource (see docs/security.md). */
const routerOptions = {
  caseSensitive: true,
  ignoreTrailingSlash: false,
  ignoreDuplicateSlashes: false,
  // The longest segment that names something is a node id (128 characters); see segmentLimit.
  maxParamLength: 128,
} as const;

/**
 * Every other segment names a slug (32 characters) or an id (20): longer ones are refused as
 * the router refuses those past its limit, so a misspelt name is never looked up.
 */
const MAX_SEGMENT_LENGTH = 64;
const longSegmentParams: Readonly<Record<string, number>> = { node: routerOptions.maxParamLength };

async function segmentLimit(request: FastifyRequest): Promise<void> {
  for (const [name, value] of Object.entries(request.params as Record<string, unknown>)) {
    if (typeof value === 'string' && value.length > (longSegmentParams[name] ?? MAX_SEGMENT_LENGTH)) {
      throw new CausewayError('uri_too_long', 'a segment of the path is too long to name anything');
    }
  }
}

export function createAdminServer(options: AdminServerOptions): FastifyInstance {
  const auth = new AdminAccess(options.access);
  const app = Fastify({
    ...(options.tls === undefined ? {} : { https: { cert: options.tls.cert, key: options.tls.key } }),
    genReqId: (request) => requestIdOf(request.headers['x-request-id']),
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
  app.decorateRequest('principal', undefined as unknown as Principal);
  app.decorateRequest('scope', undefined as unknown as Scope);
  registerBodyParsers(app);

  // A route that is not public and says nothing of what it needs is a mistake: it never serves.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const isPublic = route.config?.public === true;
    if (!isPublic && route.config?.need === undefined) {
      throw new Error(`admin route ${methods.join(',')} ${route.url} declares neither public nor a need`);
    }
    for (const method of methods) options.onRoute?.({ method, url: route.url, public: isPublic, need: route.config?.need });
  });
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
  app.addHook('onRequest', segmentLimit);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpRequests.inc({ route: `${request.method} ${route}`, status: `${Math.floor(reply.statusCode / 100)}xx` });
  });
  app.setErrorHandler(adminErrorHandler(options.log, options.metrics));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new CausewayError('not_found', `no such endpoint: ${request.method} ${request.url.split('?')[0]?.slice(0, 256) ?? ''}`)),
  );

  const largeBodies = new LargeBodyGate({ ...options.largeApplies, metrics: options.metrics });
  // Lists grow with an installation (1,000 pools are 712 kB of JSON, 10 kB gzipped) and consoles poll them.
  void app.register(compress, { encodings: ['gzip'], threshold: COMPRESS_THRESHOLD_BYTES });
  registerOpenApi(app);
  // Once the OpenAPI plugin has loaded, so that it sees every route.
  app.after(() => {
    app.get('/v1/openapi.json', { ...publicRoute, schema: routeSchemas.openapi }, async () => app.swagger());
    registerApiRoutes(app, options.sql, options.deployer);
    registerStatusEvents(app, { sql: options.sql, deployer: options.deployer, log: options.log, stillAllowed: auth.stillAllowed });
    registerUpstreamRoutes(app, options.pools);
    registerResourceRoutes(app, options.sql, options.deployer, largeBodies, options.pools.health);
    registerStatusRoutes(app, options.status, options.metrics);
    registerAccessRoutes(app, { sql: options.sql, access: options.access.access, caughtUpTo: options.caughtUpTo });
    registerRuntimeRoutes(app, { sql: options.sql, access: options.access.access, caughtUpTo: options.caughtUpTo });
    registerAllocationRoutes(app, { sql: options.sql, allocator: options.allocator });
    registerConsumerRoutes(app, options.sql);
    registerConsoleRoutes(app);
  });
  return app;
}
