import { ServerResponse } from 'node:http';
import type { Increment } from '../pending-counts.ts';

/** What a response tells the exchange serving it. */
export interface ResponseListener {
  clientClosed(): void;
  resume(): void;
}

function onSendTimeout(res: ProxyResponse): void {
  res.sendTimedOut();
}

/** A response that knows its exchange, so event listeners need no per-request closure. */
export class ProxyResponse extends ServerResponse {
  exchange: ResponseListener | undefined;
  /** Created on the first write the client does not take at once, then refreshed. */
  private sendTimer: NodeJS.Timeout | undefined;
  /** A write is waiting for the client to read (set by `awaitClient`, cleared on drain or finish). */
  private sendPending = false;
  /** Bytes the socket still had to send when the wait started or last saw progress. */
  private unsentBytes = 0;
  private sendTimeouts: Increment | undefined;

  /**
   * Every response emits 'close', once finished or when the client is gone: telling the
   * exchange here costs a comparison, where a listener is added and removed per request.
   * 'drain' and 'finish' end a wait for the client the same way.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'drain' || event === 'finish') {
      this.sendPending = false;
    } else if (event === 'close') {
      this.sendPending = false;
      clearTimeout(this.sendTimer);
      this.exchange?.clientClosed();
    }
    return super.emit(event, ...args);
  }

  /**
   * A write is pending because the client does not read: unless it takes some of it
   * within `timeoutMs` (a write of the socket completes, a 'drain', or the end flushed),
   * the connection is destroyed, and with it the upstream request (through 'close').
   */
  awaitClient(timeoutMs: number, timeouts: Increment): void {
    this.sendPending = true;
    this.sendTimeouts = timeouts;
    this.unsentBytes = this.socket?.writableLength ?? 0;
    if (this.sendTimer === undefined) {
      this.sendTimer = setTimeout(onSendTimeout, timeoutMs, this);
      this.sendTimer.unref();
    } else {
      this.sendTimer.refresh();
    }
  }

  /** The send timer fired: cut the connection if the client took nothing since the wait started. */
  sendTimedOut(): void {
    if (!this.sendPending || this.destroyed) return;
    // Progress is seen per completed socket write (a chunk of up to 64 KiB), not per byte.
    const unsent = this.socket?.writableLength ?? 0;
    if (unsent < this.unsentBytes) {
      this.unsentBytes = unsent;
      this.sendTimer?.refresh();
      return;
    }
    this.sendTimeouts?.inc();
    this.destroy();
  }
}

export function onDrain(this: ProxyResponse): void {
  this.exchange?.resume();
}
