import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CausewayError, type ErrorCode, type ErrorDetail, type Logger } from '@causeway/shared';
import type { ControllerMetrics } from '../metrics.ts';
import { databaseUnavailable } from '../store/database.ts';

/** What an error answer may carry at most, whatever was sent (a 1 MB field name, 20,000 bad items). */
export const MAX_DETAILS = 1_000;
export const MAX_TEXT = 1_024;

function bounded(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 3)}...` : text;
}

/** The one error envelope: `{"error":{"code","message","details"?}}`. */
export function errorBody(error: CausewayError): { error: { code: ErrorCode; message: string; details?: ErrorDetail[] } } {
  const json = error.toJSON();
  const body: { code: ErrorCode; message: string; details?: ErrorDetail[] } = { code: json.code, message: bounded(json.message) };
  if (json.details !== undefined) body.details = json.details.slice(0, MAX_DETAILS).map((d) => ({ path: bounded(d.path), message: bounded(d.message) }));
  return { error: body };
}

/** `extra`: what the envelope carries besides `error` (a failed allocation, with its step log). */
export function sendError(reply: FastifyReply, error: CausewayError, extra?: Readonly<Record<string, unknown>>): FastifyReply {
  // Refused before its body was read (too large, unauthenticated, wrong type): close the
  // connection rather than read the rest of the body to keep it alive.
  if (!reply.request.raw.complete) reply.header('connection', 'close');
  return reply.code(error.httpStatus).type('application/json').send(extra === undefined ? errorBody(error) : { ...errorBody(error), ...extra });
}

/** Every code the admin API answers with (docs/admin-api.md lists each with its status). */
export const adminErrorCodes: readonly ErrorCode[] = [
  'invalid_argument',
  'unauthenticated',
  'permission_denied',
  'not_found',
  'request_timeout',
  'already_exists',
  'conflict',
  'precondition_failed',
  'payload_too_large',
  'uri_too_long',
  'unsupported_media_type',
  'too_many_requests',
  'headers_too_large',
  'internal',
  'unavailable',
  // A dedicated gateway allocation: no gateway free, or the gateway failed the handshake.
  'no_gateway_available',
  'upstream_unavailable',
  'upstream_timeout',
];

const codeByStatus: Readonly<Record<number, ErrorCode>> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  404: 'not_found',
  408: 'request_timeout',
  409: 'conflict',
  412: 'precondition_failed',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  431: 'headers_too_large',
  503: 'unavailable',
};

interface FrameworkError {
  readonly code?: unknown;
  readonly statusCode?: unknown;
  readonly message?: unknown;
}

/** Errors raised by fastify itself (media type, body size, URL), in Causeway's codes. */
export function frameworkError(error: unknown, bodyLimit: number | undefined): CausewayError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode } = error as FrameworkError;
  switch (code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CausewayError('unsupported_media_type', 'send application/json or application/yaml');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CausewayError('payload_too_large', `the request body is larger than this endpoint's limit of ${bodyLimit ?? 'its'} bytes`);
    case 'FST_ERR_BAD_URL':
      return CausewayError.invalid([{ path: '(url)', message: 'is not a valid URL (bad percent-encoding)' }]);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new CausewayError('uri_too_long', 'a segment of the path is too long to name anything');
  }
  if (typeof code !== 'string' || !code.startsWith('FST_') || typeof statusCode !== 'number') return undefined;
  const mapped = codeByStatus[statusCode] ?? (statusCode < 500 ? 'invalid_argument' : 'internal');
  if (mapped === 'invalid_argument') {
    const message = typeof (error as FrameworkError).message === 'string' ? String((error as FrameworkError).message) : 'is not a valid request';
    return CausewayError.invalid([{ path: '(request)', message: bounded(message) }]);
  }
  return new CausewayError(mapped, STATUS_CODES[statusCode] ?? 'error');
}

/**
 * The admin API's error handler: Causeway errors as they are, framework errors mapped,
 * an unreachable database as 503 `unavailable`, anything else as a logged 500.
 */
export function adminErrorHandler(log: Logger, metrics: ControllerMetrics) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (error instanceof CausewayError && error.code !== 'internal') return sendError(reply, error);
    const framework = frameworkError(error, request.routeOptions.bodyLimit);
    if (framework !== undefined) return sendError(reply, framework);
    const unavailable = databaseUnavailable(error);
    if (unavailable !== undefined) {
      metrics.databaseErrors.inc({ operation: 'admin_api' });
      log.warn({ err: error, method: request.method, route: request.routeOptions.url }, 'admin request found the database unavailable');
      return sendError(reply, unavailable);
    }
    log.error({ err: error, method: request.method, route: request.routeOptions.url }, 'admin request failed');
    return sendError(reply, CausewayError.from(error));
  };
}

/** Node's own refusals (before fastify sees a request), in the same envelope. */
function clientError(code: string | undefined): CausewayError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new CausewayError('headers_too_large', 'the request line and headers are larger than 16 KiB');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new CausewayError('request_timeout', 'the request was not received in time');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new CausewayError('payload_too_large', 'the chunk extensions are too large');
    default:
      return CausewayError.invalid([{ path: '(request)', message: 'is not a valid HTTP/1.1 request' }]);
  }
}

/** fastify's `clientErrorHandler`: answers on the raw socket, then closes it. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const causeway = clientError(error.code);
  const body = JSON.stringify(errorBody(causeway));
  const status = causeway.httpStatus;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
