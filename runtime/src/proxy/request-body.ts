import type { IncomingMessage } from 'node:http';
import { UpstreamError } from '../upstreams/upstream-errors.ts';

/** What the body tells the exchange it belongs to. */
export interface BodyWatcher {
  /** No body bytes arrived for the body timeout while the upstream request waited for them. */
  bodyStalled(): void;
}

export interface BodyLimits {
  readonly bodyTimeoutMs: number;
  /** 0: no limit. */
  readonly maxRequestBodyBytes: number;
}

function onIdle(body: RequestBody): void {
  body.idle();
}

const noMore: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The request body, handed to undici lazily (undici accepts async iterables as bodies,
 * although its types list only streams): undici reads it only once a connection to
 * the member is up, so after a connect failure `req` is untouched and the next member
 * can have it. (Given `req` itself, undici would destroy it on that failure.)
 *
 * It also bounds the client: the body timeout runs only while undici waits for the
 * client's next bytes (not while the upstream is slow to take them), and a body growing
 * past the size limit fails the attempt. Both failures, and the client's connection
 * failing mid-body, are the runtime's own (`origin: 'local'`): no member is blamed.
 */
export class RequestBody implements AsyncIterable<Buffer>, AsyncIterator<Buffer> {
  private readonly req: IncomingMessage;
  private readonly watcher: BodyWatcher;
  private readonly limits: BodyLimits;
  private inner: AsyncIterator<Buffer> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private waiting = false;
  /** Body bytes received so far. */
  received = 0;
  started = false;

  constructor(req: IncomingMessage, watcher: BodyWatcher, limits: BodyLimits) {
    this.req = req;
    this.watcher = watcher;
    this.limits = limits;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    this.started = true;
    this.inner = this.req.iterator({ destroyOnReturn: false });
    return this;
  }

  async next(): Promise<IteratorResult<Buffer>> {
    const inner = this.inner;
    if (inner === undefined) return noMore;
    this.waiting = true;
    if (this.timer === undefined) {
      this.timer = setTimeout(onIdle, this.limits.bodyTimeoutMs, this);
      this.timer.unref();
    } else {
      this.timer.refresh();
    }
    let result: IteratorResult<Buffer>;
    try {
      result = await inner.next();
    } catch (error) {
      this.stop();
      throw new UpstreamError('invalid_argument', 'local', error, 'the request body could not be read');
    } finally {
      this.waiting = false;
    }
    if (result.done === true) {
      this.stop();
      return result;
    }
    this.received += result.value.length;
    const max = this.limits.maxRequestBodyBytes;
    if (max > 0 && this.received > max) {
      this.stop();
      throw new UpstreamError('payload_too_large', 'local', undefined, `the request body is larger than ${max} bytes`);
    }
    return result;
  }

  async return(): Promise<IteratorResult<Buffer>> {
    this.stop();
    await this.inner?.return?.();
    return noMore;
  }

  /** The body timer fired: a stall only if undici is still waiting for the client. */
  idle(): void {
    if (this.waiting) this.watcher.bodyStalled();
  }

  /** No more waiting for the client (the body ended or failed, or the exchange is over). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
