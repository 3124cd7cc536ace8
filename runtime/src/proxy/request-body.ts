import type { IncomingMessage } from 'node:http';

/**
 * The request body, handed to undici lazily (undici accepts async iterables as bodies,
 * although its types list only streams): undici reads it only once a connection to
 * the member is up, so after a connect failure `req` is untouched and the next member
 * can have it. (Given `req` itself, undici would destroy it on that failure.)
 */
export class RequestBody implements AsyncIterable<Buffer> {
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
