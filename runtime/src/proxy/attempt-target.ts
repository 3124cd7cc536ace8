import type { UpstreamObserver } from '../health/upstream-health.ts';
import { upstreamPath } from './upstream-path.ts';
import type { ApiRoute, RouteTarget } from '../routing/serving-config.ts';
import { describeFailure, type UpstreamError } from '../upstreams/upstream-errors.ts';
import type { ExchangeRequest } from './exchange-request.ts';
import { hopHeader, signHop } from './hop-marker.ts';

/** The path an attempt asks its target for. */
export function attemptPath(route: ApiRoute, request: ExchangeRequest, target: RouteTarget): string {
  if (target.kind === 'member') {
    return upstreamPath(target.member.pathPrefix, request.path, request.upstreamQuery ?? request.query, route.stripBasePath, route.basePath, route.basePathSegments);
  }
  // The remote runtime tier routes by the same host and full path.
  return target.pathPrefix + request.path + request.query;
}

/**
 * The headers of an attempt: a DTC URL also gets the client's Host and a hop marker
 * signed with the zone's hop key (the only attempts that cost an HMAC).
 */
export function attemptHeaders(request: ExchangeRequest, target: RouteTarget, zone: string, nowMs: number): string[] {
  if (target.kind === 'member') return request.headers;
  const headers = request.headers.slice();
  const marker = signHop(target.hopKey, zone, Math.floor(nowMs / 1000), request.method, request.path);
  headers.push(hopHeader, marker, 'host', request.host ?? target.host);
  return headers;
}

/**
 * What a failed attempt tells upstream health. A failure on the runtime's own side
 * (`local`: a request undici refuses to send, the client's body, a pool closed by a config
 * swap) tells nothing about the target: Envoy keeps local-origin errors out of outlier
 * detection the same way.
 */
export function reportFailure(upstreams: UpstreamObserver, target: RouteTarget, error: UpstreamError): void {
  const { origin } = error;
  if (origin === 'local') return;
  if (target.kind === 'dtc') {
    if (origin === 'refused' || origin === 'denied') upstreams.dtcRefused(target.state);
  } else if (origin === 'refused') {
    upstreams.memberRefused(target.live);
  } else if (origin === 'denied') {
    upstreams.memberDenied(target.live);
  } else {
    upstreams.memberFailed(target.live, describeFailure(error.cause));
  }
}
