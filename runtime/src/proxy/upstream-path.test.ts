import { describe, expect, it } from 'vitest';
import { normalizeBasePath, segmentCount } from '../routing/request-target.ts';
import { upstreamPath } from './upstream-path.ts';

function rewrite(path: string, query: string, basePath: string, strip: boolean, prefix = ''): string {
  const base = normalizeBasePath(basePath);
  return upstreamPath(prefix, path, query, strip, base, segmentCount(base));
}

describe('upstream path', () => {
  it('strips the base path and keeps the query', () => {
    expect(rewrite('/orders/1', '?x=2', '/orders', true)).toBe('/1?x=2');
  });

  it('turns the bare base path into /', () => {
    expect(rewrite('/orders', '', '/orders', true)).toBe('/');
    expect(rewrite('/orders', '?a=b', '/orders', true)).toBe('/?a=b');
    expect(rewrite('/orders/', '', '/orders', true)).toBe('/');
  });

  it('strips a multi-segment base path', () => {
    expect(rewrite('/api/v1/orders/7', '', '/api/v1', true)).toBe('/orders/7');
  });

  it("leaves the path alone with '/' as base path", () => {
    expect(rewrite('/a/b', '?q', '/', true)).toBe('/a/b?q');
  });

  it('keeps the base path when not stripping', () => {
    expect(rewrite('/orders/1', '?x=2', '/orders', false)).toBe('/orders/1?x=2');
  });

  it("prepends the member URL's own path", () => {
    expect(rewrite('/orders/1', '?x=2', '/orders', true, '/base')).toBe('/base/1?x=2');
    expect(rewrite('/orders', '', '/orders', true, '/base')).toBe('/base');
    expect(rewrite('/orders/1', '', '/orders', false, '/base')).toBe('/base/orders/1');
  });

  it('strips by segments when the client percent-encoded the base path', () => {
    expect(rewrite('/%6Frders/1', '', '/orders', true)).toBe('/1');
    expect(rewrite('/%6Frders', '', '/orders', true)).toBe('/');
  });
});
