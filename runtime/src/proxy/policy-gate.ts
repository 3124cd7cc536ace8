import type { IncomingMessage } from 'node:http';
import { countResponse } from '../metrics.ts';
import type { PolicyChain, Verdict } from '../policies/policy-chain.ts';
import type { ApiRoute, ServingConfig } from '../routing/serving-config.ts';
import { sendError } from './error-response.ts';
import type { ExchangeDeps, ExchangeRequest } from './exchange-request.ts';
import { ProxyExchange } from './proxy-exchange.ts';
import type { ProxyResponse } from './proxy-response.ts';

/** What the gate needs to start the exchange of a request that passes. */
interface Gated {
  readonly req: IncomingMessage;
  readonly res: ProxyResponse;
  readonly route: ApiRoute;
  readonly request: ExchangeRequest;
  readonly deps: ExchangeDeps;
}

/**
 * The route of a CORS preflight to an API that does not list OPTIONS: the one the
 * request it announces (Access-Control-Request-Method) would take, if the policies of that
 * request (the API's, or an override's) have CORS.
 */
export function preflightRoute(serving: ServingConfig, req: IncomingMessage, host: string, path: string): ApiRoute | undefined {
  const announced = req.headers['access-control-request-method'];
  if (announced === undefined || req.headers.origin === undefined) return undefined;
  const route = serving.routes.lookup(announced, host, path);
  return typeof route === 'object' && route.policies?.hasCors(announced, path) === true ? route : undefined;
}

function settle(verdict: Verdict, gated: Gated): void {
  const { res, route, request, deps } = gated;
  // The client left while a key was fetched: nothing to answer, nothing to send upstream.
  if (res.headersSent || res.destroyed || gated.req.socket.destroyed) return;
  if (verdict.kind === 'pass') {
    const { admitted } = verdict;
    const passed: ExchangeRequest = { ...request, headers: admitted.forward(request.headers), admitted, upstreamQuery: admitted.upstreamQuery };
    new ProxyExchange(gated.req, res, route, passed, deps).start();
    return;
  }
  if (verdict.kind === 'preflight') {
    res.writeHead(204, [...verdict.headers, 'x-request-id', request.requestId]);
    res.end();
    countResponse(route.metrics.requests, 204);
    return;
  }
  if (verdict.code === 'payload_too_large') deps.counters.bodiesTooLarge.inc();
  route.metrics.denials.count(verdict.denial);
  countResponse(route.metrics.requests, sendError(res, verdict.code, verdict.message, request.requestId, { api: route.name }, verdict.headers));
}

/**
 * Runs a request through its API's policy chain, then forwards it or answers it. An
 * answer (a refusal, a preflight) is the runtime's own: nothing reaches the upstream.
 */
export function passPolicies(chain: PolicyChain, gated: Gated, clientIp: string, contentLength: number): void {
  const { request, deps } = gated;
  const verdict = chain.evaluate({
    method: request.method,
    path: request.path,
    clientIp,
    contentLength,
    headers: gated.req.headers,
    query: request.query,
    requestId: request.requestId,
    now: deps.now(),
  });
  if (!(verdict instanceof Promise)) {
    settle(verdict, gated);
    return;
  }
  verdict.then(
    (v) => settle(v, gated),
    (error: unknown) => {
      deps.log.error({ err: error, api: gated.route.name }, 'cannot apply the policies of a request');
      countResponse(gated.route.metrics.requests, sendError(gated.res, 'internal', 'internal error', request.requestId));
    },
  );
}
