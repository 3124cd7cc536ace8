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
      requestId: 'r-1',
      forwardedFor: '1.1.1.1, 2.2.2.2',
      failoverFrom: undefined,
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

  it('reads the failover hop header and does not forward it', () => {
    const head = readRequestHead(['X-Causeway-Failover-From', 'eu-1', 'Accept', '*/*']);
    expect(head.failoverFrom).toBe('eu-1');
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
