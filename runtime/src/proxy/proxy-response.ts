import { ServerResponse } from 'node:http';

/** What a response tells the exchange serving it. */
export interface ResponseListener {
  clientClosed(): void;
  resume(): void;
}

/** A response that knows its exchange, so event listeners need no per-request closure. */
export class ProxyResponse extends ServerResponse {
  exchange: ResponseListener | undefined;

  /**
   * Every response emits 'close', once finished or when the client is gone: telling the
   * exchange here costs a comparison, where a listener is added and removed per request.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'close') this.exchange?.clientClosed();
    return super.emit(event, ...args);
  }
}

export function onDrain(this: ProxyResponse): void {
  this.exchange?.resume();
}
