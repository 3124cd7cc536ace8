import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ErrorCode } from '@causeway/shared';
import { countResponse } from '../metrics.ts';
import type { ApiRoute, RouteTarget } from '../routing/serving-config.ts';
import { chooseTarget, hasCandidate } from '../routing/target-choice.ts';
import { usableCount } from '../upstreams/balancer.ts';
import { classifyUpstreamError, UpstreamError } from '../upstreams/upstream-errors.ts';
import { attemptHeaders, attemptPath, reportFailure } from './attempt-target.ts';
import { bodyLimits, bodyTimedOut, countTooLarge } from './body-limits.ts';
import { sendError } from './error-response.ts';
import { responseHeaders } from './headers.ts';
import type { ExchangeDeps, ExchangeRequest } from './exchange-request.ts';
import { onDrain, type ProxyResponse } from './proxy-response.ts';
import { RequestBody, type BodyWatcher } from './request-body.ts';
import { budgetedRetry, errorRetryReason, isReplayable, mayRetryAfterError, statusRetryReason, type RetryContext } from './retry-rules.ts';

/** Sent to undici when the client left: the upstream request is abandoned. */
const clientGone = new UpstreamError('internal', 'local', undefined, 'the client closed the connection');

const noneTried: readonly RouteTarget[] = [];

/**
 * One client request on its way upstream: picks a target (a member, or another zone's
 * DTC URL), retries on another one when the rules and the cluster's retry budget allow,
 * streams the response back, and tells upstream health how each attempt went. It is the
 * undici dispatch handler of each attempt (attempts never overlap).
 */
export class ProxyExchange implements Dispatcher.DispatchHandler, BodyWatcher {
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
  /** The attempt in flight is a retry the cluster's retry budget counts. */
  private budgetedAttempt = false;
  /** Counted in the cluster's requests in flight, until released. */
  private counted = false;
  /** No attempt so far reached anyone (each failed to connect). */
  private unreachedOnly = true;
  /** Set while a 502/503/504 is drained before the request goes to this target. */
  private retryTarget: RouteTarget | undefined;
  private streaming = false;
  /** Body bytes of the response being streamed still to come, when its Content-Length said (else -1). */
  private bodyLeft = -1;
  private closed = false;

  constructor(req: IncomingMessage, res: ProxyResponse, route: ApiRoute, request: ExchangeRequest, deps: ExchangeDeps) {
    this.res = res;
    this.route = route;
    this.deps = deps;
    this.request = request;
    this.body = request.hasBody ? new RequestBody(req, this, bodyLimits(deps.limits, request.admitted)) : null;
    this.deadline = performance.now() + route.requestTimeoutMs;
    this.replayable = isReplayable(request.method, request.hasBody);
    res.exchange = this;
  }

  start(): void {
    const target = chooseTarget(this.route, noneTried, this.request.hopped, this.deps.now(), this.deps.random);
    if (target === undefined) {
      this.noHealthyUpstream();
      return;
    }
    this.route.retryBudget.requests++;
    this.counted = true;
    this.dispatch(target, false);
  }

  private noHealthyUpstream(): void {
    const { route } = this;
    route.metrics.noHealthyUpstream.inc();
    this.fail('no_healthy_upstream', `no healthy member of ${route.upstreamLabel} can serve api ${route.name}`, {
      api: route.name,
      pool: route.upstreamLabel,
      healthy: usableCount(route.members, this.deps.now()),
      total: route.members.length,
    });
  }

  private dispatch(target: RouteTarget, budgeted: boolean): void {
    const { route, request } = this;
    this.target = target;
    (this.tried ??= []).push(target);
    this.budgetedAttempt = budgeted;
    if (budgeted) route.retryBudget.retries++;
    target.failovers?.inc();
    if (target.kind === 'member') target.live.activeRequests++;
    const now = performance.now();
    const remaining = Math.max(1, Math.ceil(this.deadline - now));
    this.attemptStartedAt = now;
    try {
      target.dispatcher.dispatch(
        {
          path: attemptPath(route, request, target),
          method: request.method,
          headers: attemptHeaders(request, target, this.deps.zone, this.deps.now()),
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

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx: informational, not forwarded
    this.unreachedOnly = false;
    const reason = statusRetryReason(statusCode);
    const target = this.target;
    if (target?.kind === 'member') {
      if (reason === undefined) this.deps.upstreams.memberSucceeded(target.live);
      else this.deps.upstreams.memberFailed(target.live, `status ${statusCode}`);
    }
    if (reason !== undefined && this.replayable && this.mayRetry()) {
      const next = this.nextTarget();
      if (next !== undefined && this.budgetAllows()) {
        this.retryTarget = next;
        this.route.metrics.retries[reason].inc();
        return; // the body is drained and dropped; onResponseEnd sends the retry
      }
    }
    const admitted = this.request.admitted;
    const outHeaders = admitted === undefined ? responseHeaders(headers, this.request.requestId) : admitted.decorate(responseHeaders(headers, this.request.requestId));
    // A header Node refuses throws here; undici then fails the attempt (a 502 or a retry).
    if (statusMessage) this.res.writeHead(statusCode, statusMessage, outHeaders);
    else this.res.writeHead(statusCode, outHeaders);
    this.streaming = true;
    const length = headers['content-length'];
    this.bodyLeft = typeof length === 'string' ? Number(length) : -1;
    countResponse(this.route.metrics.requests, statusCode);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.streaming) return;
    // The last chunk of a body of known length ends the response: one write, not a write and an end.
    if (this.bodyLeft > 0 && (this.bodyLeft -= chunk.length) === 0) {
      this.endResponse(chunk);
      return;
    }
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', onDrain);
      this.res.awaitClient(this.deps.limits.sendTimeoutMs, this.deps.counters.sendTimeouts);
    }
  }

  onResponseEnd(): void {
    this.endAttempt();
    const next = this.retryTarget;
    if (next !== undefined && !this.closed) {
      this.retryTarget = undefined;
      this.dispatch(next, true);
      return;
    }
    if (this.streaming && !this.res.writableEnded) this.endResponse(undefined);
    this.release();
  }

  /** Ends the response; what the socket could not send at once must be taken within the send timeout. */
  private endResponse(chunk: Buffer | undefined): void {
    const { res } = this;
    res.end(chunk);
    if ((res.socket?.writableLength ?? 0) > 0) res.awaitClient(this.deps.limits.sendTimeoutMs, this.deps.counters.sendTimeouts);
  }

  onResponseError(_controller: Dispatcher.DispatchController, cause: Error): void {
    const target = this.target;
    this.endAttempt();
    if (this.closed) {
      this.release();
      return;
    }
    const error = classifyUpstreamError(cause);
    if (error.code === 'payload_too_large') countTooLarge(this.deps, this.route, this.request.admitted);
    if (this.streaming) {
      // Headers are out: all that can be said is that the response is incomplete.
      this.deps.log.debug({ err: cause, api: this.route.name, code: error.code }, 'upstream failed mid-response');
      this.res.destroy(error);
      this.release();
      return;
    }
    // A 502/503/504 whose body then failed was counted against the member already.
    if (target !== undefined && this.retryTarget === undefined) reportFailure(this.deps.upstreams, target, error);
    this.afterFailure(error);
  }

  /** After a failed attempt: another one, or the answer. */
  private afterFailure(error: UpstreamError): void {
    if (!error.unreached) this.unreachedOnly = false;
    // A retry chosen after a 502/503/504 whose body then failed goes ahead as planned,
    // unless the request itself failed: no other target would take it either.
    let next = error.final ? undefined : this.retryTarget;
    let budgeted = next !== undefined;
    this.retryTarget = undefined;
    const reason = errorRetryReason(error.code);
    const context: RetryContext = { replayable: this.replayable, bodyStarted: this.body?.started === true, perTryTimeoutMs: this.route.perTryTimeoutMs };
    if (next === undefined && reason !== undefined && this.mayRetry() && mayRetryAfterError(error.code, context)) {
      const candidate = this.nextTarget();
      budgeted = budgetedRetry(error.code);
      if (candidate !== undefined && (!budgeted || this.budgetAllows())) {
        next = candidate;
        this.route.metrics.retries[reason].inc();
      }
    }
    if (next !== undefined) {
      this.dispatch(next, budgeted);
      return;
    }
    if (this.unreachedOnly && !hasCandidate(this.route, this.tried ?? noneTried, this.request.hopped, this.deps.now())) {
      this.noHealthyUpstream(); // every attempt failed to connect and nothing usable is left
      return;
    }
    if (error.code === 'internal') this.deps.log.error({ err: error.cause, api: this.route.name }, 'cannot forward a request');
    else this.deps.log.debug({ err: error.cause, api: this.route.name, code: error.code }, 'upstream request failed');
    this.fail(error.code, error.message, { api: this.route.name });
  }

  /** No request body bytes for the body timeout: 408 if nothing was answered yet, else the connection is cut. */
  bodyStalled(): void {
    this.deps.counters.bodyTimeouts.inc();
    const controller = this.controller;
    if (this.streaming || controller === undefined) this.res.destroy();
    else controller.abort(bodyTimedOut);
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

  /** Whether the cluster's retry budget has room for one more retry; counts the refusal if not. */
  private budgetAllows(): boolean {
    if (this.route.retryBudget.allows()) return true;
    this.route.metrics.retryBudgetExhausted.inc();
    return false;
  }

  private nextTarget(): RouteTarget | undefined {
    return chooseTarget(this.route, this.tried ?? noneTried, this.request.hopped, this.deps.now(), this.deps.random);
  }

  private endAttempt(): void {
    const target = this.target;
    if (target === undefined) return;
    if (target.kind === 'member') target.live.activeRequests--;
    if (this.budgetedAttempt) {
      this.route.retryBudget.retries--;
      this.budgetedAttempt = false;
    }
    this.target = undefined;
    this.controller = undefined;
    this.route.metrics.upstreamDuration.observe((performance.now() - this.attemptStartedAt) / 1000);
  }

  private fail(code: ErrorCode, message: string, fields?: Readonly<Record<string, string | number>>): void {
    const status = sendError(this.res, code, message, this.request.requestId, fields, this.request.admitted?.errorHeaders());
    countResponse(this.route.metrics.requests, status);
    this.release();
  }

  private release(): void {
    this.res.exchange = undefined;
    this.body?.stop();
    if (this.counted) {
      this.counted = false;
      this.route.retryBudget.requests--;
    }
  }
}
