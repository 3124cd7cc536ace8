import { describe, expect, it } from 'vitest';
import { readRequestHead, responseHeaders } from './headers.ts';

describe('request head', () => {
  it('keeps end-to-end headers in order and takes out the ones the proxy sets', () => {
    const head = readRequestHead([
      'Host', 'a.com',
      'Accept', 'text/plain',
      'X-Request-Id', 'r-1',
      'X-Forwarded-For', '1.1.1.1',
      'x-forwarded-for', '2.2.2.2',
      'Connection', 'keep-alive, X-Internal',
      'X-Internal', 'secret',
      'Keep-Alive', 'timeout=5',
      'Expect', '100-continue',
      'Accept', 'text/html',
    ]);
    expect(head).toEqual({
      host: 'a.com',
      refusal: undefined,
      contentLength: -1,
      requestId: 'r-1',
      forwardedFor: '1.1.1.1, 2.2.2.2',
      hopMarker: undefined,
      hasBody: false,
      forwarded: ['Accept', 'text/plain', 'Accept', 'text/html'],
    });
  });

  it('sees a body from Content-Length or Transfer-Encoding', () => {
    expect(readRequestHead(['Content-Length', '0']).hasBody).toBe(false);
    expect(readRequestHead(['Content-Length', '12']).hasBody).toBe(true);
    const chunked = readRequestHead(['Transfer-Encoding', 'chunked']);
    expect(chunked.hasBody).toBe(true);
    expect(chunked.forwarded).toEqual([]);
  });

  it('reads the Content-Length as a number', () => {
    expect(readRequestHead(['Content-Length', '12']).contentLength).toBe(12);
    expect(readRequestHead([]).contentLength).toBe(-1);
  });

  it.each([
    ['two Host headers', ['Host', 'a.com', 'Host', 'a.com']],
    ['an empty Host', ['Host', '']],
    ...['a.com/x', 'a.com?x', 'a.com#x', 'user@a.com', 'a.com\\x', 'a .com', 'a.com:', 'a.com:x', 'a.com:65536', 'a.com:1:2', ':80', '[::1', '[]', '[::1]x', '[::1]:', '[g::1]'].map(
      (value) => [`Host ${JSON.stringify(value)}`, ['Host', value]] as [string, string[]],
    ),
  ])('refuses %s with 400 invalid_argument', (_name, raw) => {
    expect(readRequestHead(raw).refusal?.code).toBe('invalid_argument');
  });

  it.each(['a.com', 'A.Example.COM.', 'a.com:8080', 'a.com:0', '10.0.0.1:65535', '[::1]', '[::ffff:10.0.0.1]:443', 'xn--bcher-kva.example'])(
    'accepts Host %j',
    (value) => {
      expect(readRequestHead(['Host', value]).refusal).toBeUndefined();
    },
  );

  it.each([
    ['gzip, chunked', ['Transfer-Encoding', 'gzip, chunked']],
    ['identity', ['Transfer-Encoding', 'identity']],
    ['chunked, chunked', ['Transfer-Encoding', 'chunked, chunked']],
    ['gzip then chunked on two lines', ['Transfer-Encoding', 'gzip', 'Transfer-Encoding', 'chunked']],
    ['chunked twice on two lines', ['Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked']],
  ])('refuses Transfer-Encoding %s with 501 not_implemented', (_name, raw) => {
    expect(readRequestHead(raw).refusal?.code).toBe('not_implemented');
  });

  it('accepts one Transfer-Encoding chunked, in any case', () => {
    expect(readRequestHead(['Transfer-Encoding', 'chunked']).refusal).toBeUndefined();
    expect(readRequestHead(['transfer-encoding', 'Chunked']).refusal).toBeUndefined();
  });

  it('reads the hop marker and does not forward it', () => {
    const head = readRequestHead(['X-Causeway-Hop', 'eu-1;1700000000;abc', 'Accept', '*/*']);
    expect(head.hopMarker).toBe('eu-1;1700000000;abc');
    expect(head.forwarded).toEqual(['Accept', '*/*']);
  });

  it('ignores an empty X-Request-Id', () => {
    expect(readRequestHead(['X-Request-Id', '']).requestId).toBeUndefined();
  });
});

describe('response headers', () => {
  it('drops hop-by-hop headers, repeats multi-valued ones and sets X-Request-Id', () => {
    expect(
      responseHeaders(
        {
          'content-type': 'text/plain',
          'set-cookie': ['a=1', 'b=2'],
          connection: 'keep-alive, x-hop',
          'x-hop': '1',
          'keep-alive': 'timeout=5',
          'transfer-encoding': 'chunked',
          'x-request-id': 'upstream-id',
        },
        'r-1',
      ),
    ).toEqual(['content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'x-request-id', 'r-1']);
  });
});
