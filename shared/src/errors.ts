import { status as GrpcStatus } from '@grpc/grpc-js';

/** Every error Causeway reports has one of these codes. */
export type ErrorCode =
  | 'invalid_argument'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'already_exists'
  | 'conflict'
  | 'precondition_failed'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'too_many_requests'
  | 'request_timeout'
  | 'not_implemented'
  | 'no_route'
  | 'no_healthy_upstream'
  | 'no_gateway_available'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'upstream_reset'
  | 'unavailable'
  | 'incompatible_version'
  | 'internal';

/** One problem with one field of the input. */
export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

const httpStatusByCode: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  conflict: 409,
  precondition_failed: 412,
  unsupported_media_type: 415,
  payload_too_large: 413,
  uri_too_long: 414,
  headers_too_large: 431,
  too_many_requests: 429,
  request_timeout: 408,
  not_implemented: 501,
  no_route: 404,
  no_healthy_upstream: 503,
  no_gateway_available: 503,
  upstream_unavailable: 502,
  upstream_timeout: 504,
  upstream_reset: 502,
  unavailable: 503,
  incompatible_version: 400,
  internal: 500,
};

const grpcStatusByCode: Record<ErrorCode, GrpcStatus> = {
  invalid_argument: GrpcStatus.INVALID_ARGUMENT,
  unauthenticated: GrpcStatus.UNAUTHENTICATED,
  permission_denied: GrpcStatus.PERMISSION_DENIED,
  not_found: GrpcStatus.NOT_FOUND,
  already_exists: GrpcStatus.ALREADY_EXISTS,
  conflict: GrpcStatus.ABORTED,
  precondition_failed: GrpcStatus.FAILED_PRECONDITION,
  unsupported_media_type: GrpcStatus.INVALID_ARGUMENT,
  payload_too_large: GrpcStatus.RESOURCE_EXHAUSTED,
  uri_too_long: GrpcStatus.INVALID_ARGUMENT,
  headers_too_large: GrpcStatus.RESOURCE_EXHAUSTED,
  too_many_requests: GrpcStatus.RESOURCE_EXHAUSTED,
  request_timeout: GrpcStatus.DEADLINE_EXCEEDED,
  not_implemented: GrpcStatus.UNIMPLEMENTED,
  no_route: GrpcStatus.NOT_FOUND,
  no_healthy_upstream: GrpcStatus.UNAVAILABLE,
  no_gateway_available: GrpcStatus.RESOURCE_EXHAUSTED,
  upstream_unavailable: GrpcStatus.UNAVAILABLE,
  upstream_timeout: GrpcStatus.DEADLINE_EXCEEDED,
  upstream_reset: GrpcStatus.UNAVAILABLE,
  unavailable: GrpcStatus.UNAVAILABLE,
  incompatible_version: GrpcStatus.FAILED_PRECONDITION,
  internal: GrpcStatus.INTERNAL,
};

export class CausewayError extends Error {
  override readonly name = 'CausewayError';
  readonly code: ErrorCode;
  readonly details: readonly ErrorDetail[];

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: readonly ErrorDetail[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? [];
  }

  get httpStatus(): number {
    return httpStatusByCode[this.code];
  }

  get grpcStatus(): GrpcStatus {
    return grpcStatusByCode[this.code];
  }

  /** A validation error listing every bad field. */
  static invalid(details: readonly ErrorDetail[]): CausewayError {
    const first = details[0];
    const message = first === undefined ? 'invalid input' : `${first.path}: ${first.message}`;
    const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
    return new CausewayError('invalid_argument', message + more, { details });
  }

  /** Wraps anything thrown into a CausewayError; unknown errors become `internal`. */
  static from(error: unknown): CausewayError {
    if (error instanceof CausewayError) return error;
    return new CausewayError('internal', 'internal error', { cause: error });
  }

  toJSON(): { code: ErrorCode; message: string; details?: readonly ErrorDetail[] } {
    const body: { code: ErrorCode; message: string; details?: readonly ErrorDetail[] } = {
      code: this.code,
      message: this.code === 'internal' ? 'internal error' : this.message,
    };
    if (this.details.length > 0) body.details = this.details;
    return body;
  }
}

export function httpStatusFor(code: ErrorCode): number {
  return httpStatusByCode[code];
}

/** Every code, in the order of the status table. */
export const errorCodes: readonly ErrorCode[] = Object.keys(httpStatusByCode) as ErrorCode[];
