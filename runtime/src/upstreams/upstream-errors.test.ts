import { describe, expect, it } from 'vitest';
import { errors } from 'undici';
import { AddressDeniedError } from './address-guard.ts';
import { classifyUpstreamError, describeFailure, UpstreamError } from './upstream-errors.ts';

function systemError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

describe('upstream error classification', () => {
  it.each([
    ['ECONNREFUSED', systemError('ECONNREFUSED'), 'refused'],
    ['ECONNRESET at connect', Object.assign(systemError('ECONNRESET'), { syscall: 'connect' }), 'refused'],
    ['EHOSTUNREACH', systemError('EHOSTUNREACH'), 'connect'],
    ['ENOTFOUND', systemError('ENOTFOUND'), 'connect'],
    ['connect timeout', new errors.ConnectTimeoutError(), 'connect'],
    ['closed pool', new errors.ClientClosedError(), 'local'],
    ['happy-eyeballs aggregate', new AggregateError([systemError('ECONNREFUSED'), systemError('ECONNREFUSED')]), 'refused'],
  ])('%s: the request reached no one (%s)', (_name, error, origin) => {
    const classified = classifyUpstreamError(error);
    expect(classified.code).toBe('upstream_unavailable');
    expect(classified.unreached).toBe(true);
    expect(classified.origin).toBe(origin);
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
    const classified = classifyUpstreamError(error);
    expect(classified.code).toBe('upstream_reset');
    expect(classified.origin).toBe('reset');
    expect(classified.unreached).toBe(false);
  });

  it.each([
    ['a header value undici refuses', new errors.InvalidArgumentError('invalid x-note header'), 'invalid_argument'],
    ['a body shorter than its Content-Length', new errors.RequestContentLengthMismatchError(), 'invalid_argument'],
    ['something undici does not support', new errors.NotSupportedError(), 'internal'],
  ])('%s: a local failure, final, that blames no member (%s)', (_name, error, code) => {
    const classified = classifyUpstreamError(error);
    expect(classified.code).toBe(code);
    expect(classified.origin).toBe('local');
    expect(classified.final).toBe(true);
    expect(classified.unreached).toBe(false);
  });

  it('keeps the class of a failure the runtime raised itself', () => {
    const raised = new UpstreamError('request_timeout', 'local');
    expect(classifyUpstreamError(raised)).toBe(raised);
    expect(raised.httpStatus).toBe(408);
    expect(new UpstreamError('payload_too_large', 'local').httpStatus).toBe(413);
  });

  it('classifies a denied address as a connect failure of its own origin', () => {
    const classified = classifyUpstreamError(new AddressDeniedError('metadata', '169.254.169.254'));
    expect(classified).toMatchObject({ code: 'upstream_unavailable', origin: 'denied', unreached: true, final: false });
    expect(describeFailure(new AddressDeniedError('metadata', '169.254.169.254'))).toBe('address denied');
  });

  it('retries after a pool closed under the request: local, but not final', () => {
    expect(classifyUpstreamError(new errors.ClientClosedError()).final).toBe(false);
  });

  it('describes failures by code and system call, never by message', () => {
    expect(describeFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect' }))).toBe(
      'connect ECONNREFUSED',
    );
    expect(describeFailure(new errors.ConnectTimeoutError())).toBe('connect timeout');
    expect(describeFailure(new errors.SocketError('other side closed'))).toBe('connection closed');
    expect(describeFailure(systemError('EPIPE'))).toBe('EPIPE');
    expect(describeFailure('boom')).toBe('connection failed');
  });

  it('keeps the original error as the cause and maps to gateway statuses', () => {
    const cause = systemError('ECONNREFUSED');
    const error = classifyUpstreamError(cause);
    expect(error.cause).toBe(cause);
    expect(error.httpStatus).toBe(502);
    expect(classifyUpstreamError(new errors.HeadersTimeoutError()).httpStatus).toBe(504);
  });
});
