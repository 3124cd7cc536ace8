import { ServerResponse, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ErrorCode, Logger } from '@causeway/shared';
import { countResponse, type RetryReason } from '../metrics.ts';
import { upstreamPath } from '../routing/request-target.ts';
import type { ApiRoute, RouteTarget } from '../routing/serving-config.ts';
import { pickCandidate, usableCount } from '../upstreams/balancer.ts';
import { classifyUpstreamError } from '../upstreams/upstream-errors.ts';
import { sendError } from './error-response.ts';
import { responseHeaders } from './headers.ts';

export interface ExchangeDeps {
  readonly log: Logger;
  readonly random: () => number;
  /** Wall clock, for member states (ejection deadlines). */
  readonly now: () => number;
}

/** A response that knows its exchange, so event listeners need no per-request closure. */
export class ProxyResponse extends ServerResponse {
  exchange: ProxyExchange | undefined;
}

function onClientClose(this: ProxyResponse): void {
  this.exchange?.clientClosed();
}

function onDrain(this: ProxyResponse): void {
  this.exchange?.resume();
}

/** Sent to undici when the client left: the upstream request is abandoned. */
const clientGone = Object.assign(new Error('the client closed the connection'), { code: 'CAUSEWAY_CLIENT_GONE' });

/** Methods whose request can be sent twice (a retry after a 5xx) when it has no body. */
const idempotentMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

const statusRetryReasons: Readonly<Record<number, RetryReason>> = { 502: 'status_502', 503: 'status_503', 504: 'status_504' };

const errorRetryReasons: Readonly<Record<string, RetryReason>> = {
  upstream_unavailable: 'connect_failure',
  upstream_reset: 'reset',
  upstream_timeout: 'timeout',
};

const noneTried: readonly RouteTarget[] = [];

/**
 * The request body, handed to undici lazily (undici accepts async iterables as bodies,
 * although its types list only streams): undici reads it only once a connection to
 * the member is up, so after a connect failure `req` is untouched and the next member
 * can have it. (Given `req` itself, undici would destroy it on that failure.)
 */
class RequestBody implements AsyncIterable<Buffer> {
  private readonly req: IncomingMessage;
  started = false;

  constructor(req: IncomingMessage) {
    this.req = req;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    this.started = true;
    return this.req.iterator({ destroyOnReturn: false });
  }
}

export interface ExchangeRequest {
  readonly method: string;
  readonly path: string;
  /** `?...` or ''. */
  readonly query: string;
  readonly requestId: string;
  readonly hasBody: boolean;
  /** Headers to send; the last value is replaced by each attempt's upstream Host. */
  readonly headers: string[];
}

/**
 * One client request on its way upstream: picks members, retries on another one when
 * the rules allow, streams the response back. It is the undici dispatch handler of
 * each attempt (attempts never overlap).
 */
export class ProxyExchange implements Dispatcher.DispatchHandler {
  private readonly res: ProxyResponse;
  private readonly route: ApiRoute;
  private readonly deps: ExchangeDeps;
  private readonly request: ExchangeRequest;
  private readonly body: RequestBody | null;
  /** performance.now() after which no attempt starts and the last one times out. */
  private readonly deadline: number;
  private readonly replayable: boolean;
  private tried: RouteTarget[] | undefined;
  private target: RouteTarget | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private attemptStartedAt = 0;
  /** Set while a 502/503/504 is drained before the request goes to this member. */
  private retryTarget: RouteTarget | undefined;
  private streaming = false;
  private closed = false;

  constructor(req: IncomingMessage, res: ProxyResponse, route: ApiRoute, request: ExchangeRequest, deps: ExchangeDeps) {
    this.res = res;
    this.route = route;
    this.deps = deps;
    this.request = request;
    this.body = request.hasBody ? new RequestBody(req) : null;
    this.deadline = performance.now() + route.requestTimeoutMs;
    this.replayable = !request.hasBody && idempotentMethods.has(request.method);
    res.exchange = this;
    res.once('close', onClientClose);
  }

  start(): void {
    const target = pickCandidate(this.route.tiers, this.route.balancer, noneTried, this.deps.now(), this.deps.random);
    if (target === undefined) {
      this.noHealthyUpstream();
      return;
    }
    this.dispatch(target);
  }

  private noHealthyUpstream(): void {
    const { route } = this;
    route.metrics.noHealthyUpstream.inc();
    const healthy = usableCount(route.tiers, this.deps.now());
    this.fail('no_healthy_upstream', `no healthy member of ${route.upstreamLabel} can serve api ${route.name}`, {
      api: route.name,
      pool: route.upstreamLabel,
      healthy,
      total: route.memberCount,
    });
  }

  private dispatch(target: RouteTarget): void {
    const { route, request } = this;
    this.target = target;
    (this.tried ??= []).push(target);
    target.live.activeRequests++;
    request.headers[request.headers.length - 1] = target.member.host;
    const remaining = Math.max(1, Math.ceil(this.deadline - performance.now()));
    this.attemptStartedAt = performance.now();
    try {
      target.dispatcher.dispatch(
        {
          path: upstreamPath(target.member.pathPrefix, request.path, request.query, route.stripBasePath, route.basePath, route.basePathSegments),
          method: request.method,
          headers: request.headers,
          body: this.body as Readable | null,
          headersTimeout: route.perTryTimeoutMs > 0 ? Math.min(route.perTryTimeoutMs, remaining) : remaining,
          bodyTimeout: route.requestTimeoutMs,
        },
        this,
      );
    } catch (error) {
      this.endAttempt();
      this.deps.log.error({ err: error, api: route.name }, 'cannot dispatch a request upstream');
      this.fail('internal', 'internal error');
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.closed) controller.abort(clientGone);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode < 200) return; // 1xx: informational, not forwarded
    const reason = statusRetryReasons[statusCode];
    if (reason !== undefined && this.replayable && this.mayRetry()) {
      const next = this.nextTarget();
      if (next !== undefined) {
        this.retryTarget = next;
        this.route.metrics.retries[reason].inc();
        return; // the body is drained and dropped; onResponseEnd sends the retry
      }
    }
    const outHeaders = responseHeaders(headers, this.request.requestId);
    // A header Node refuses throws here; undici then fails the attempt (a 502 or a retry).
    if (statusMessage) this.res.writeHead(statusCode, statusMessage, outHeaders);
    else this.res.writeHead(statusCode, outHeaders);
    this.streaming = true;
    countResponse(this.route.metrics.requests, statusCode);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.streaming) return;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', onDrain);
    }
  }

  onResponseEnd(): void {
    this.endAttempt();
    const next = this.retryTarget;
    if (next !== undefined && !this.closed) {
      this.retryTarget = undefined;
      this.dispatch(next);
      return;
    }
    if (this.streaming) this.res.end();
    this.release();
  }

  onResponseError(_controller: Dispatcher.DispatchController, cause: Error): void {
    this.endAttempt();
    if (this.closed) {
      this.release();
      return;
    }
    const error = classifyUpstreamError(cause);
    if (this.streaming) {
      // Headers are out: all that can be said is that the response is incomplete.
      this.deps.log.debug({ err: cause, api: this.route.name, code: error.code }, 'upstream failed mid-response');
      this.res.destroy(error);
      this.release();
      return;
    }
    let next = this.retryTarget;
    this.retryTarget = undefined;
    const reason = errorRetryReasons[error.code];
    if (next === undefined && reason !== undefined && this.mayRetryAfter(error.code)) {
      next = this.nextTarget();
      if (next !== undefined) this.route.metrics.retries[reason].inc();
    }
    if (next !== undefined) {
      this.dispatch(next);
      return;
    }
    this.deps.log.debug({ err: cause, api: this.route.name, code: error.code }, 'upstream request failed');
    this.fail(error.code, error.message, { api: this.route.name });
  }

  /** The client's connection closed; abandons the upstream request unless the response was complete. */
  clientClosed(): void {
    if (this.res.writableFinished) return;
    this.closed = true;
    this.controller?.abort(clientGone);
  }

  resume(): void {
    this.controller?.resume();
  }

  /** Whether attempts and time remain for another one. */
  private mayRetry(): boolean {
    return (this.tried?.length ?? 0) <= this.route.retryAttempts && performance.now() < this.deadline;
  }

  /**
   * Retry rules by error code: a connect failure reached no one, so any method goes
   * again (if its body was not started); a reset or timeout may have been seen upstream,
   * so only a replayable request (idempotent, no body) goes again, and after a timeout
   * only when a per-try timeout leaves room for another try.
   */
  private mayRetryAfter(code: ErrorCode): boolean {
    if (!this.mayRetry()) return false;
    switch (code) {
      case 'upstream_unavailable':
        return this.body === null || !this.body.started;
      case 'upstream_reset':
        return this.replayable;
      case 'upstream_timeout':
        return this.replayable && this.route.perTryTimeoutMs > 0;
      default:
        return false;
    }
  }

  private nextTarget(): RouteTarget | undefined {
    return pickCandidate(this.route.tiers, this.route.balancer, this.tried ?? noneTried, this.deps.now(), this.deps.random);
  }

  private endAttempt(): void {
    const target = this.target;
    if (target === undefined) return;
    target.live.activeRequests--;
    this.target = undefined;
    this.controller = undefined;
    this.route.metrics.upstreamDuration.observe((performance.now() - this.attemptStartedAt) / 1000);
  }

  private fail(code: ErrorCode, message: string, fields?: Readonly<Record<string, string | number>>): void {
    const status = sendError(this.res, code, message, this.request.requestId, fields);
    countResponse(this.route.metrics.requests, status);
    this.release();
  }

  private release(): void {
    this.res.exchange = undefined;
  }
}
