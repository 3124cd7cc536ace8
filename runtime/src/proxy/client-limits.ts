/**
 * Bounds on what one client of the proxy listener may hold: the time it may take to send
 * its request and to read the answer, and the size of its body. The names follow nginx
 * (client_header_timeout, client_body_timeout, send_timeout, client_max_body_size).
 */
export interface ClientLimits {
  /** Until the request headers are complete (Node's headersTimeout); then 408 and close. */
  readonly headerTimeoutMs: number;
  /** Until the whole request, body included, is received (Node's requestTimeout); 0: no limit. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long (Node's keepAliveTimeout). */
  readonly keepAliveTimeoutMs: number;
  /** No body bytes from the client for this long while the proxy waits for them: 408, or the connection is cut. */
  readonly bodyTimeoutMs: number;
  /** The client takes none of a pending response write for this long: both sides are cut. */
  readonly sendTimeoutMs: number;
  /** A larger request body is refused with 413; 0: no limit. */
  readonly maxRequestBodyBytes: number;
}

export const defaultClientLimits: ClientLimits = Object.freeze({
  headerTimeoutMs: 60_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  bodyTimeoutMs: 60_000,
  sendTimeoutMs: 60_000,
  maxRequestBodyBytes: 0,
});

/**
 * How often Node looks for connections past the header or request timeout; its own
 * default (30 s) would let a 60 s header timeout fire at up to 90 s.
 */
export const connectionsCheckingIntervalMs = 1_000;
