import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { CausewayError } from '@causeway/shared';

/** What a gateway is told: which tenant it now serves, for which allocation, under which host. */
export interface HandshakeBody {
  readonly tenant: string;
  readonly allocation: string;
  readonly host: string;
}

export interface HandshakeTarget {
  readonly gateway: string;
  /** `{gateway url}{handshakePath}` */
  readonly url: string;
}

/** Connect failures are retried (the request reached no one); anything else is not. */
const CONNECT_ATTEMPTS = 3;
const CONNECT_BACKOFF_MS = 200;
/** An answer's body is read (to free the connection) up to this much, and ignored. */
const MAX_ANSWER_BYTES = 4_096;

/** undici error codes and system errors for a request that never reached the gateway. */
const connectFailures = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);
const timeouts = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause === undefined ? undefined : codeOf(cause);
}

/**
 * Tells a gateway it serves a tenant (POST) or no longer does (DELETE), through undici with
 * a time-out, retrying when the connection could not be made. Errors are classified once,
 * here: no connection or a non-2xx answer is 502 `upstream_unavailable`, no answer in time
 * 504 `upstream_timeout`.
 */
export class HandshakeClient {
  private readonly agent: Agent;
  private readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    this.agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 1_000 });
  }

  async send(method: 'POST' | 'DELETE', target: HandshakeTarget, body: HandshakeBody): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.once(method, target, body);
        return;
      } catch (error) {
        const code = codeOf(error);
        if (error instanceof CausewayError) throw error;
        if (code !== undefined && timeouts.has(code)) {
          throw new CausewayError('upstream_timeout', `gateway "${target.gateway}" did not answer the handshake (${method}) within ${this.timeoutMs} ms`, { cause: error });
        }
        if (code !== undefined && connectFailures.has(code) && attempt < CONNECT_ATTEMPTS) {
          await sleep(CONNECT_BACKOFF_MS * attempt);
          continue;
        }
        throw new CausewayError('upstream_unavailable', `gateway "${target.gateway}" could not be reached for the handshake (${method}): ${code ?? 'connection failed'}`, { cause: error });
      }
    }
  }

  private async once(method: 'POST' | 'DELETE', target: HandshakeTarget, body: HandshakeBody): Promise<void> {
    const response = await request(target.url, {
      method,
      dispatcher: this.agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    let read = 0;
    for await (const chunk of response.body) {
      read += (chunk as Buffer).length;
      if (read > MAX_ANSWER_BYTES) break;
    }
    if (read > MAX_ANSWER_BYTES) response.body.destroy();
    const ok = (response.statusCode >= 200 && response.statusCode < 300) || (method === 'DELETE' && response.statusCode === 404);
    if (!ok) throw new CausewayError('upstream_unavailable', `gateway "${target.gateway}" answered the handshake (${method}) with ${response.statusCode}`);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
