import { describe, expect, it } from 'vitest';
import { canonicalUpstreamUrl } from './urls.ts';

describe('upstream URLs', () => {
  it.each([
    ['HTTP://GW.example.com', 'http://gw.example.com'],
    ['http://gw:80/', 'http://gw'],
    ['https://gw:443/base/', 'https://gw/base'],
    ['https://gw:8443/base//', 'https://gw:8443/base'],
    ['http://10.0.0.1:8000/a/./b/../c', 'http://10.0.0.1:8000/a/c'],
    ['http://[::1]:9000', 'http://[::1]:9000'],
  ])('stores %s as %s', (raw, canonical) => {
    expect(canonicalUpstreamUrl(raw)).toEqual({ ok: true, value: canonical });
  });

  it.each([
    ['gw.example.com', 'is not an absolute URL like http://host:port'],
    ['ftp://gw', 'must use http or https'],
    ['http://user@gw', 'must not contain credentials'],
    ['http://@gw', 'must not contain credentials'],
    ['http://gw/?', 'must not have a query or fragment'],
    ['http://gw/#top', 'must not have a query or fragment'],
    ['http://gw/a b', 'contains spaces or control characters'],
    ['http://gw/\ta', 'contains spaces or control characters'],
    [`http://gw/${'a'.repeat(2048)}`, 'is longer than 2048 characters'],
  ])('refuses %j', (raw, rule) => {
    expect(canonicalUpstreamUrl(raw)).toEqual({ ok: false, rule });
  });
});
