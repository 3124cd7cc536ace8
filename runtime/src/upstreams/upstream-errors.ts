import { CausewayError } from '@causeway/shared';

type UpstreamErrorCode = 'upstream_unavailable' | 'upstream_timeout' | 'upstream_reset';

/**
 * What ended an attempt: an upstream failure, or one on the runtime's own side (the
 * request could not be sent as received, the client's body stalled or grew too large).
 */
export type AttemptErrorCode = UpstreamErrorCode | 'invalid_argument' | 'payload_too_large' | 'request_timeout' | 'internal';

/**
 * What a failed attempt says about the member, for health:
 * - `refused`: the member refused the connection; definitive evidence that it is down.
 * - `denied`: the member's address is in the upstream deny list; as definitive.
 * - `connect`: no connection for another reason (timeout, unreachable, DNS, TLS).
 * - `local`: the runtime's own side (a pool closed by a config swap, a request undici
 *   refuses to send, the client's body); says nothing about the member.
 * - `reset`, `timeout`: the request may have been seen; counts towards ejection.
 */
export type FailureOrigin = 'refused' | 'denied' | 'connect' | 'local' | 'reset' | 'timeout';

/**
 * Failures before any byte of the request left: the request reached no one, so it can
 * go to another member whatever its method. Refusals and a pool closed by a config swap
 * are such failures too, told apart for health (see classifyUpstreamError).
 */
const notConnectedCodes: ReadonlySet<string> = new Set([
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** A pool that was closed or destroyed under the request: the runtime's doing, not the member's. */
const localCodes: ReadonlySet<string> = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

const timeoutCodes: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * undici refused the request before sending a byte of it: a path, method or header value
 * it will not write (it checks more than Node's parser, which let the request in). The
 * request is the client's, so the client is told; no member saw anything.
 */
const refusedRequestCodes: ReadonlySet<string> = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']);

/** undici does not support what the runtime asked of it: nothing reached the member. */
const internalCodes: ReadonlySet<string> = new Set(['UND_ERR_NOT_SUPPORTED']);

const addressDeniedCode = 'CAUSEWAY_ADDRESS_DENIED';

const messages: Record<AttemptErrorCode, string> = {
  upstream_unavailable: 'the upstream could not be reached',
  upstream_timeout: 'the upstream did not answer in time',
  upstream_reset: 'the upstream closed the connection before the response was complete',
  invalid_argument: 'the request has a target or header value that cannot be forwarded',
  payload_too_large: 'the request body is larger than this runtime accepts',
  request_timeout: 'the request body stopped arriving',
  internal: 'internal error',
};

/** An attempt's failure classified once, where it entered (or raised so by the runtime itself). */
export class UpstreamError extends CausewayError {
  declare readonly code: AttemptErrorCode;
  readonly origin: FailureOrigin;

  constructor(code: AttemptErrorCode, origin: FailureOrigin, cause?: unknown, message: string = messages[code]) {
    super(code, message, { cause });
    this.origin = origin;
  }

  /** The request reached no one: it may go to another member whatever its method. */
  get unreached(): boolean {
    return this.code === 'upstream_unavailable';
  }

  /** The request itself or its client failed, not a target: no other target would do better. */
  get final(): boolean {
    return this.origin === 'local' && this.code !== 'upstream_unavailable';
  }
}

interface SystemErrorFields {
  readonly code: string | undefined;
  readonly syscall: string | undefined;
}

function systemErrorFields(error: unknown): SystemErrorFields {
  if (typeof error !== 'object' || error === null) return { code: undefined, syscall: undefined };
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (typeof code === 'string') return { code, syscall: typeof syscall === 'string' ? syscall : undefined };
  // Happy-eyeballs connects (several addresses) fail with an AggregateError.
  return error instanceof AggregateError ? systemErrorFields(error.errors[0]) : { code: undefined, syscall: undefined };
}

/** A refusal at connect: the member's address answers but nothing listens (or it reset the connect). */
function isRefusal({ code, syscall }: SystemErrorFields): boolean {
  return code === 'ECONNREFUSED' || (code === 'ECONNRESET' && syscall === 'connect');
}

/** undici's codes, in words, for health reasons. */
const undiciCodeWords: Readonly<Record<string, string>> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_DESTROYED: 'connection closed',
  [addressDeniedCode]: 'address denied',
};

/**
 * A short description of a failed connection or request for health reasons, from its
 * code and system call (`connect ECONNREFUSED`, `connect timeout`), never its message.
 */
export function describeFailure(error: unknown): string {
  const { code, syscall } = systemErrorFields(error);
  if (code === undefined) return 'connection failed';
  const words = undiciCodeWords[code];
  if (words !== undefined) return words;
  return syscall === undefined ? code : `${syscall} ${code}`;
}

/**
 * Classifies an undici/Node error once, where it enters: retries and the answer to the
 * client are then decided on the code alone. Errors the runtime raised itself (an
 * UpstreamError as abort reason) keep their class. Anything else (socket closed, parser
 * error, response length mismatch) is a reset: the request may have been seen upstream.
 */
export function classifyUpstreamError(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const fields = systemErrorFields(error);
  const { code } = fields;
  if (isRefusal(fields)) return new UpstreamError('upstream_unavailable', 'refused', error);
  if (code === addressDeniedCode) return new UpstreamError('upstream_unavailable', 'denied', error);
  if (code !== undefined && localCodes.has(code)) return new UpstreamError('upstream_unavailable', 'local', error);
  if (code !== undefined && refusedRequestCodes.has(code)) return new UpstreamError('invalid_argument', 'local', error);
  if (code !== undefined && internalCodes.has(code)) return new UpstreamError('internal', 'local', error);
  if (code !== undefined && notConnectedCodes.has(code)) return new UpstreamError('upstream_unavailable', 'connect', error);
  if (code !== undefined && timeoutCodes.has(code)) return new UpstreamError('upstream_timeout', 'timeout', error);
  return new UpstreamError('upstream_reset', 'reset', error);
}
