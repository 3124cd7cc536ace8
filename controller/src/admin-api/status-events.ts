import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CausewayError, type Logger } from '@causeway/shared';
import type { Deployer } from '../deployment/deployer.ts';
import { databaseUnavailable, type Sql } from '../store/database.ts';
import { ResourceStore } from '../store/resource-store.ts';
import { needs } from './access.ts';
import { errorBody } from './error-replies.ts';
import { routeSchemas } from './route-schemas.ts';
import { API_VERSION } from './validate.ts';

/** A stream ends after this long; a client opens the next one (as an EventSource does by itself). */
const STATUS_EVENTS_MAX_MS = 10 * 60_000;
/** A comment line after this long without an event keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;
/** Streams one replica holds open at a time; more are refused with 503. */
const MAX_STATUS_STREAMS = 200;

export interface StatusEventsDeps {
  readonly sql: Sql;
  readonly deployer: Deployer;
  readonly log: Logger;
  /** Checked before each event: a stream ends once its token is revoked or expires, or its role no longer reads APIs. */
  readonly stillAllowed: (request: FastifyRequest) => CausewayError | undefined;
}

/**
 * `GET /v1/apis/{name}/status/events`: the deployment status as server-sent events, one
 * `status` event now and one each time it changes, so a console sees a runtime apply or
 * reject a revision without asking again. An `error` event (the one error envelope) ends it,
 * as does the revocation or expiry of the token that opened it.
 */
export function registerStatusEvents(app: FastifyInstance, { sql, deployer, log, stillAllowed }: StatusEventsDeps): void {
  let open = 0;
  app.get<{ Params: { name: string } }>('/v1/apis/:name/status/events', { ...needs({ subject: 'apis', action: 'read' }), schema: routeSchemas.watchApiStatus }, async (request, reply) => {
    const store = new ResourceStore(sql, request.scope);
    const name = request.params.name;
    if (open >= MAX_STATUS_STREAMS) throw new CausewayError('unavailable', `this replica already streams ${MAX_STATUS_STREAMS} deployment statuses; retry later or ask another replica`);
    // A missing API is a plain 404, before the stream starts.
    await deployer.status(store, name);
    const stop = new AbortController();
    const ends = setTimeout(() => stop.abort(), STATUS_EVENTS_MAX_MS);
    reply.hijack();
    open++;
    const out = reply.raw;
    // The response closes when the client goes away (a request's own 'close' comes once it is read).
    out.once('close', () => stop.abort());
    out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    let last = '';
    let lastWriteAt = Date.now();
    try {
      for await (const status of deployer.watchStatus(store, name, stop.signal)) {
        const refusal = stillAllowed(request);
        if (refusal !== undefined) throw refusal;
        const data = JSON.stringify({ apiVersion: API_VERSION, kind: 'ApiDeploymentStatus', ...status });
        if (data !== last) out.write(`event: status\ndata: ${data}\n\n`);
        else if (Date.now() - lastWriteAt >= KEEP_ALIVE_MS) out.write(': keep-alive\n\n');
        else continue;
        last = data;
        lastWriteAt = Date.now();
      }
    } catch (error) {
      const refusal = error instanceof CausewayError ? error : (databaseUnavailable(error) ?? CausewayError.from(error));
      if (!(error instanceof CausewayError)) log.warn({ err: error, api: name }, 'deployment status stream failed');
      out.write(`event: error\ndata: ${JSON.stringify(errorBody(refusal))}\n\n`);
    } finally {
      clearTimeout(ends);
      open--;
      out.end();
    }
  });
}
