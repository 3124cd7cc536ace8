import type { ServerResponse } from 'node:http';
import { httpStatusFor, type ErrorCode } from '@causeway/shared';

/**
 * Answers after which the connection is closed: the request body is unwanted, stalled or
 * framed in a way the runtime does not take, so what is left of it is not read (nginx
 * closes after these too).
 */
const closingCodes: ReadonlySet<ErrorCode> = new Set(['payload_too_large', 'request_timeout', 'not_implemented']);

/** Fields added next to `code` and `message` in an error body. */
export type ErrorFields = Readonly<Record<string, string | number>>;

/**
 * Answers with `{"error":{"code","message",...fields}}` and the status of the code
 * (with `extraHeaders`, a flat name/value list, such as WWW-Authenticate or Retry-After).
 * Does nothing when the response already started or the client is gone.
 */
export function sendError(
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  requestId: string,
  fields?: ErrorFields,
  extraHeaders?: readonly string[],
): number {
  const status = httpStatusFor(code);
  if (res.headersSent || res.destroyed) return status;
  const body = JSON.stringify({ error: { code, message, ...fields } });
  if (closingCodes.has(code)) res.shouldKeepAlive = false;
  res.writeHead(status, [
    'content-type',
    'application/json; charset=utf-8',
    'content-length',
    String(Buffer.byteLength(body)),
    'cache-control',
    'no-store',
    'x-request-id',
    requestId,
    ...(extraHeaders ?? []),
  ]);
  res.end(body);
  return status;
}
