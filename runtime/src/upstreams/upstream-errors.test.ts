import { describe, expect, it } from 'vitest';
import { errors } from 'undici';
import { classifyUpstreamError } from './upstream-errors.ts';

function systemError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

describe('upstream error classification', () => {
  it.each([
    ['ECONNREFUSED', systemError('ECONNREFUSED')],
    ['EHOSTUNREACH', systemError('EHOSTUNREACH')],
    ['ENOTFOUND', systemError('ENOTFOUND')],
    ['connect timeout', new errors.ConnectTimeoutError()],
    ['closed pool', new errors.ClientClosedError()],
    ['happy-eyeballs aggregate', new AggregateError([systemError('ECONNREFUSED'), systemError('ECONNREFUSED')])],
  ])('%s: the request reached no one', (_name, error) => {
    expect(classifyUpstreamError(error).code).toBe('upstream_unavailable');
  });

  it.each([
    ['headers timeout', new errors.HeadersTimeoutError()],
    ['body timeout', new errors.BodyTimeoutError()],
  ])('%s: upstream_timeout', (_name, error) => {
    expect(classifyUpstreamError(error).code).toBe('upstream_timeout');
  });

  it.each([
    ['socket closed', new errors.SocketError('other side closed')],
    ['ECONNRESET', systemError('ECONNRESET')],
    ['no code', new Error('something')],
    ['not an error', 'boom'],
  ])('%s: upstream_reset', (_name, error) => {
    expect(classifyUpstreamError(error).code).toBe('upstream_reset');
  });

  it('keeps the original error as the cause and maps to gateway statuses', () => {
    const cause = systemError('ECONNREFUSED');
    const error = classifyUpstreamError(cause);
    expect(error.cause).toBe(cause);
    expect(error.httpStatus).toBe(502);
    expect(classifyUpstreamError(new errors.HeadersTimeoutError()).httpStatus).toBe(504);
  });
});
