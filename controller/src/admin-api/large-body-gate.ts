import type { FastifyReply, FastifyRequest } from 'fastify';
import { CausewayError } from '@causeway/shared';
import type { ControllerMetrics } from '../metrics.ts';
import { sendError } from './error-replies.ts';

/** A body longer than this, or of unknown length (chunked), is large. */
export const LARGE_BODY_BYTES = 1024 * 1024;
/**
 * Large bodies read and written at once by one replica. Applies take the revision lock
 * one after the other anyway; reading several at once only multiplies the memory.
 */
const LARGE_BODIES_AT_ONCE = 1;
/** What a refused client is told to wait before it tries again. */
export const LARGE_BODY_RETRY_AFTER_SECONDS = 5;

export interface LargeBodyGateOptions {
  /** Large requests that may wait for their turn; past that they are refused. */
  readonly maxWaiting: number;
  /** A large request still waiting after this long is refused. */
  readonly maxWaitMs: number;
  readonly metrics: ControllerMetrics;
}

type Outcome = 'admitted' | 'timed_out' | 'gone';

/** The length a request announces: undefined for a chunked body (unknown until read). */
function announcedLength(request: FastifyRequest): number | undefined {
  if (request.headers['transfer-encoding'] !== undefined) return undefined;
  const header = request.headers['content-length'];
  return header === undefined ? 0 : Number(header);
}

/**
 * Admits large request bodies one at a time, before they are read: the others wait in a
 * bounded queue (their bodies stay in the kernel's buffers and the client's), and past
 * the queue they get 429 with Retry-After.
 */
export class LargeBodyGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly options: LargeBodyGateOptions;

  constructor(options: LargeBodyGateOptions) {
    this.options = options;
  }

  /** The onRequest hook of a route that takes large bodies. */
  readonly onRequest = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const length = announcedLength(request);
    if (length !== undefined && length <= LARGE_BODY_BYTES) return undefined;
    const limit = request.routeOptions.bodyLimit;
    if (length !== undefined && limit !== undefined && length > limit) {
      reply.header('connection', 'close');
      return sendError(reply, new CausewayError('payload_too_large', `the request body is larger than this endpoint's limit of ${limit} bytes`));
    }
    if (this.running < LARGE_BODIES_AT_ONCE) {
      this.start(reply);
      return undefined;
    }
    if (this.waiting.length >= this.options.maxWaiting) return this.refuse(reply, 'queue_full');
    const outcome = await this.wait(reply);
    if (outcome === 'admitted') return undefined;
    if (outcome === 'timed_out') return this.refuse(reply, 'waited_too_long');
    // The client went away while waiting: there is no one to answer.
    reply.hijack();
    return reply;
  };

  private start(reply: FastifyReply): void {
    this.running++;
    this.report();
    // 'close' comes once the answer is sent or the connection is gone, whichever is first.
    reply.raw.once('close', () => {
      this.running--;
      this.waiting.shift()?.();
      this.report();
    });
  }

  private wait(reply: FastifyReply): Promise<Outcome> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reply.raw.off('close', gone);
        const index = this.waiting.indexOf(admit);
        if (index >= 0) this.waiting.splice(index, 1);
        if (outcome === 'admitted') this.start(reply);
        this.report();
        resolve(outcome);
      };
      const admit = (): void => settle('admitted');
      const gone = (): void => settle('gone');
      const timer = setTimeout(() => settle('timed_out'), this.options.maxWaitMs);
      reply.raw.once('close', gone);
      this.waiting.push(admit);
      this.report();
    });
  }

  private refuse(reply: FastifyReply, reason: 'queue_full' | 'waited_too_long'): FastifyReply {
    this.options.metrics.largeAppliesRefused.inc({ reason });
    const why = reason === 'queue_full' ? `${this.waiting.length} are already waiting` : `none finished within ${this.options.maxWaitMs} ms`;
    // The body was not read: close the connection rather than read it to keep it alive.
    reply.header('retry-after', String(LARGE_BODY_RETRY_AFTER_SECONDS)).header('connection', 'close');
    return sendError(reply, new CausewayError('too_many_requests', `another large request is being processed and ${why}; retry in ${LARGE_BODY_RETRY_AFTER_SECONDS} s`));
  }

  private report(): void {
    this.options.metrics.largeAppliesInProgress.set(this.running);
    this.options.metrics.largeAppliesWaiting.set(this.waiting.length);
  }
}
