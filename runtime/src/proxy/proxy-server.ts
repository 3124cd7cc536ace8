import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { httpStatusFor, type ErrorCode } from '@causeway/shared';
import { dtcHealthPath } from '../health/dtc-tracker.ts';
import { bindApiMetrics, countResponse, type ApiMetrics, type RuntimeMetrics } from '../metrics.ts';
import { hasDotSegment, normalizeHost } from '../routing/request-target.ts';
import { malformedPath } from '../routing/route-table.ts';
import type { ServingConfig } from '../routing/serving-config.ts';
import { connectionsCheckingIntervalMs } from './client-limits.ts';
import { sendError } from './error-response.ts';
import { readRequestHead, type HeadRefusal, type RequestHead } from './headers.ts';
import { verifyHop } from './hop-marker.ts';
import type { ExchangeDeps } from './exchange-request.ts';
import { passPolicies, preflightRoute } from './policy-gate.ts';
import { ProxyExchange } from './proxy-exchange.ts';
import { ProxyResponse } from './proxy-response.ts';

export interface ProxyServerDeps extends ExchangeDeps {
  /** The config in force, read once per request. */
  serving(): ServingConfig;
  /** Whether the runtime has a config to serve (from a controller or its cache). */
  ready(): boolean;
  /** The hop keys of the zones held (normally one: the same in every zone); empty without zones. */
  hopKeys(): readonly Uint8Array[];
  readonly metrics: RuntimeMetrics;
}

/** Where a request goes, from its request-target; absolute-form (`GET http://h/p`) included. */
interface Target {
  readonly host: string | undefined;
  readonly path: string;
  readonly query: string;
}

function parseTarget(url: string, hostHeader: string | undefined): Target | undefined {
  if (url.charCodeAt(0) === 47) {
    const q = url.indexOf('?');
    return q === -1 ? { host: hostHeader, path: url, query: '' } : { host: hostHeader, path: url.slice(0, q), query: url.slice(q) };
  }
  if (!url.startsWith('http://') && !url.startsWith('https://')) return undefined;
  try {
    const parsed = new URL(url);
    return { host: parsed.host, path: parsed.pathname, query: parsed.search };
  } catch {
    return undefined;
  }
}

const fragment: HeadRefusal = Object.freeze({ code: 'invalid_argument', message: "the request target has a fragment ('#')" });

/** Why a request is answered before routing: its headers, its declared body size, a fragment in its target. */
function preRoutingRefusal(url: string, head: RequestHead, maxBodyBytes: number, tooLarge: HeadRefusal): HeadRefusal | undefined {
  if (head.refusal !== undefined) return head.refusal;
  if (maxBodyBytes > 0 && head.contentLength > maxBodyBytes) return tooLarge;
  // A fragment is the client's own business (RFC 9110 §4.2.4); no upstream is sent one.
  return url.includes('#') ? fragment : undefined;
}

/** The client's headers to forward, with the ones the proxy sets. */
function forwardedHeaders(head: RequestHead, clientIp: string, targetHost: string | undefined, requestId: string): string[] {
  const headers = head.forwarded;
  headers.push('x-forwarded-for', head.forwardedFor === undefined ? clientIp : `${head.forwardedFor}, ${clientIp}`, 'x-forwarded-proto', 'http');
  if (targetHost !== undefined) headers.push('x-forwarded-host', targetHost);
  // No Host: undici sends its pool's, the member's (as Kong's default preserve_host=false);
  // the client's is in X-Forwarded-Host.
  headers.push('x-request-id', requestId);
  return headers;
}

/**
 * The client a policy judges: the connection's address, or for a request another zone's
 * runtime forwarded (a verified hop marker) the address that runtime saw, which it put
 * last in X-Forwarded-For.
 */
function policyClient(req: IncomingMessage, hopped: boolean, forwardedFor: string | undefined): string {
  if (!hopped || forwardedFor === undefined) return req.socket.remoteAddress ?? '';
  return forwardedFor.slice(forwardedFor.lastIndexOf(',') + 1).trim();
}

/** The path of a request-target (without query) is the reserved health path. */
function isHealthPath(url: string): boolean {
  return url.startsWith(dtcHealthPath) && (url.length === dtcHealthPath.length || url.charCodeAt(dtcHealthPath.length) === 63);
}

/**
 * Answers the reserved health path, which other zones' runtimes check before failing
 * over to this one through its DTC URL: 200 with a config to serve, 503 without.
 */
function answerHealth(req: IncomingMessage, res: ProxyResponse, zone: string, ready: boolean): void {
  const body = JSON.stringify({ status: ready ? 'ready' : 'not_ready', zone });
  res.writeHead(ready ? 200 : 503, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function ignoreError(): void {}

/**
 * CONNECT asks for a tunnel, which the proxy does not make: 501 with the JSON error body,
 * then the connection is closed (without an answer Node would just drop it).
 */
function refuseConnect(socket: Duplex): void {
  // Node took its own listeners off the socket before handing it over; an error must not be unhandled.
  socket.on('error', ignoreError);
  const body = JSON.stringify({ error: { code: 'not_implemented', message: 'CONNECT is not supported' } });
  socket.end(
    `HTTP/1.1 ${httpStatusFor('not_implemented')} Not Implemented\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nx-request-id: ${randomUUID()}\r\nconnection: close\r\n\r\n${body}`,
    // The listener keeps half-open sockets: without this, a client that never closes would hold it.
    () => socket.destroy(),
  );
}

/** The API traffic listener: route, pick a member, forward, stream back. */
export function createProxyServer(deps: ProxyServerDeps): Server<typeof IncomingMessage, typeof ProxyResponse> {
  const unrouted: ApiMetrics = bindApiMetrics(deps.metrics, '');

  const { limits } = deps;
  const bodyTooLarge: HeadRefusal = { code: 'payload_too_large', message: `the request body is larger than ${limits.maxRequestBodyBytes} bytes` };

  function refuse(res: ProxyResponse, requestId: string, code: ErrorCode, message: string, fields?: Record<string, string>): void {
    countResponse(unrouted.requests, sendError(res, code, message, requestId, fields));
  }

  const hopResults = { accepted: deps.metrics.hopMarkers.labels('accepted'), rejected: deps.metrics.hopMarkers.labels('rejected') };

  /** A marker that does not verify is ignored: the request is treated as a client's. */
  function hopAccepted(marker: string, method: string, path: string): boolean {
    const accepted = verifyHop(marker, deps.hopKeys(), Math.floor(deps.now() / 1000), method, path);
    (accepted ? hopResults.accepted : hopResults.rejected).inc();
    return accepted;
  }

  function handle(req: IncomingMessage, res: ProxyResponse): void {
    const url = req.url ?? '/';
    if (isHealthPath(url)) {
      answerHealth(req, res, deps.zone, deps.ready());
      return;
    }
    const serving = deps.serving();
    const head = readRequestHead(req.rawHeaders);
    const requestId = head.requestId ?? randomUUID();
    const refusal = preRoutingRefusal(url, head, limits.maxRequestBodyBytes, bodyTooLarge);
    if (refusal !== undefined) {
      if (refusal === bodyTooLarge) deps.counters.bodiesTooLarge.inc();
      refuse(res, requestId, refusal.code, refusal.message);
      return;
    }
    const method = req.method ?? 'GET';
    const target = parseTarget(url, head.host);
    if (target === undefined) {
      refuse(res, requestId, 'invalid_argument', 'the request target is not a path or an http(s) URL');
      return;
    }
    const { path, query } = target;
    if (hasDotSegment(path)) {
      refuse(res, requestId, 'invalid_argument', "the path has a '.' or '..' segment");
      return;
    }
    const host = normalizeHost(target.host);
    let route = serving.routes.lookup(method, host, path);
    if (route === undefined && method === 'OPTIONS') route = preflightRoute(serving, req, host, path);
    if (route === malformedPath) {
      refuse(res, requestId, 'invalid_argument', 'the path has malformed percent-encoding');
      return;
    }
    if (route === undefined) {
      refuse(res, requestId, 'no_route', `no API serves ${method} ${host}${path}`, { method, host, path });
      return;
    }
    const headers = forwardedHeaders(head, req.socket.remoteAddress ?? '', target.host, requestId);
    const hopped = head.hopMarker !== undefined && hopAccepted(head.hopMarker, method, path);
    const request = { method, path, query, requestId, hasBody: head.hasBody, host: target.host, hopped, headers, admitted: undefined };
    if (route.policies === undefined) new ProxyExchange(req, res, route, request, deps).start();
    else passPolicies(route.policies, { req, res, route, request, deps }, policyClient(req, hopped, head.forwardedFor), head.contentLength);
  }

  // Malformed requests (clientError) get Node's own 400/408/431 answers.
  const server = createServer<typeof IncomingMessage, typeof ProxyResponse>(
    {
      ServerResponse: ProxyResponse,
      headersTimeout: limits.headerTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingIntervalMs,
    },
    handle,
  );
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    countResponse(unrouted.requests, httpStatusFor('not_implemented'));
    refuseConnect(socket);
  });
  return server;
}
