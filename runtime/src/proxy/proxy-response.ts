import { ServerResponse } from 'node:http';

/** What a response tells the exchange serving it. */
export interface ResponseListener {
  clientClosed(): void;
  resume(): void;
}

/** A response that knows its exchange, so event listeners need no per-request closure. */
export class ProxyResponse extends ServerResponse {
  exchange: ResponseListener | undefined;
}

export function onClientClose(this: ProxyResponse): void {
  this.exchange?.clientClosed();
}

export function onDrain(this: ProxyResponse): void {
  this.exchange?.resume();
}
