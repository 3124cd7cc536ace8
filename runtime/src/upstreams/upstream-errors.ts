import { CausewayError } from '@causeway/shared';

export type UpstreamErrorCode = 'upstream_unavailable' | 'upstream_timeout' | 'upstream_reset';

/**
 * Failures before any byte of the request left: the request reached no one, so it can
 * go to another member whatever its method. A pool closed by a config swap counts too.
 */
const notConnectedCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

const timeoutCodes: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const messages: Record<UpstreamErrorCode, string> = {
  upstream_unavailable: 'the upstream could not be reached',
  upstream_timeout: 'the upstream did not answer in time',
  upstream_reset: 'the upstream closed the connection before the response was complete',
};

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Happy-eyeballs connects (several addresses) fail with an AggregateError.
  return error instanceof AggregateError ? errorCode(error.errors[0]) : undefined;
}

/**
 * Classifies an undici/Node error once, where it enters: retries and the answer to the
 * client are then decided on the code alone. Anything else (socket closed, parser
 * error, length mismatch) is a reset: the request may have been seen upstream.
 */
export function classifyUpstreamError(error: unknown): CausewayError {
  const code = errorCode(error);
  let classified: UpstreamErrorCode = 'upstream_reset';
  if (code !== undefined && notConnectedCodes.has(code)) classified = 'upstream_unavailable';
  else if (code !== undefined && timeoutCodes.has(code)) classified = 'upstream_timeout';
  return new CausewayError(classified, messages[classified], { cause: error });
}
