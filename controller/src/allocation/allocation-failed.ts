import { CausewayError, errorCodes, type ErrorCode } from '@causeway/shared';
import type { Allocation, AllocationError } from '../store/allocations.ts';

/** The error a caller gets, with the allocation whose step log says what happened. */
export class AllocationFailed extends Error {
  override readonly name = 'AllocationFailed';
  readonly error: CausewayError;
  readonly allocation: Allocation;
  constructor(error: CausewayError, allocation: Allocation) {
    super(error.message);
    this.error = error;
    this.allocation = allocation;
  }
}

/** A stored error as a CausewayError again (an unknown code is `internal`). */
export function storedError(error: AllocationError): CausewayError {
  const code = (errorCodes as readonly string[]).includes(error.code) ? (error.code as ErrorCode) : 'internal';
  return new CausewayError(code, error.message);
}

export function errorOf(error: unknown): AllocationError {
  const e = CausewayError.from(error);
  return { code: e.code, message: e.toJSON().message };
}
