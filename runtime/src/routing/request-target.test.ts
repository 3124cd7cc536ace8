import { describe, expect, it } from 'vitest';
import { hasDotSegment, normalizeHost } from './request-target.ts';

describe('host normalization', () => {
  it('lower-cases and drops the port and a trailing dot', () => {
    expect(normalizeHost('API.Example.com:8080')).toBe('api.example.com');
    expect(normalizeHost('example.com.')).toBe('example.com');
    expect(normalizeHost('example.com')).toBe('example.com');
  });

  it('keeps IPv6 literals whole', () => {
    expect(normalizeHost('[::1]:8080')).toBe('[::1]');
    expect(normalizeHost('[::1]')).toBe('[::1]');
  });

  it('gives an empty host when there is none', () => {
    expect(normalizeHost(undefined)).toBe('');
    expect(normalizeHost('')).toBe('');
  });
});

describe('dot segments', () => {
  it.each(['/a/../b', '/a/./b', '/..', '/a/..', '/a/%2e%2e/b', '/a/%2E/b', '/a/.%2e'])('finds one in %s', (path) => {
    expect(hasDotSegment(path)).toBe(true);
  });

  it.each(['/a/b', '/a/.well-known/x', '/a/b..c', '/a/%20b', '/a/..b'])('finds none in %s', (path) => {
    expect(hasDotSegment(path)).toBe(false);
  });
});
