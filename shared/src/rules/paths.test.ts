import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBasePath, routingPath } from './paths.ts';

/** Path segments spelled many ways: literal, escaped in either case, non-ASCII, delimiters. */
const segment = fc
  .array(
    fc.oneof(
      fc.constantFrom('a', 'b', 'Z', '0', '-', '.', '_', '~', '!', '$', '&', "'", '(', ')', '*', '+', ',', ';', '=', ':', '@'),
      fc.constantFrom('%61', '%2e', '%2E', '%2f', '%2F', '%25', '%3a', '%3A', '%20', '%C3%A9', '%c3%a9', '%7E', '%40'),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => parts.join(''));
const basePath = fc.array(segment, { maxLength: 5 }).map((segments) => `/${segments.join('/')}`);

describe('canonical base paths', () => {
  it('is idempotent and routes exactly the requests the written form routes', () => {
    fc.assert(
      fc.property(basePath, fc.boolean(), (path, trailingSlash) => {
        const written = trailingSlash && path !== '/' ? `${path}/` : path;
        const result = canonicalBasePath(written);
        if (!result.ok) return;
        expect(canonicalBasePath(result.value)).toEqual(result);
        expect(routingPath(result.value)).toBe(routingPath(path));
        expect(result.value).toMatch(/^[\x21-\x7e]+$/);
      }),
      { numRuns: 2_000 },
    );
  });

  it('gives two spellings of one path the same canonical form', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'd', 'x'), { minLength: 1, maxLength: 8 }), (letters) => {
        const plain = `/${letters.join('')}`;
        const escaped = `/${letters.map((l) => `%${l.charCodeAt(0).toString(16)}`).join('')}`;
        expect(canonicalBasePath(escaped)).toEqual({ ok: true, value: plain });
      }),
    );
  });

  it('refuses dot segments however they are spelled', () => {
    for (const path of ['/.', '/..', '/%2e', '/%2E%2e', '/x/%2e%2e/y', '/x/.%2E']) {
      expect(canonicalBasePath(path)).toMatchObject({ ok: false, rule: "has a '.' or '..' segment (plain or percent-encoded)" });
    }
    expect(canonicalBasePath('/x/.%2E.')).toEqual({ ok: true, value: '/x/...' });
  });

  it('bounds the canonical form', () => {
    expect(canonicalBasePath(`/${'a'.repeat(255)}`).ok).toBe(true);
    expect(canonicalBasePath(`/${'a'.repeat(256)}`)).toEqual({ ok: false, rule: 'is longer than 256 characters' });
    expect(canonicalBasePath(`/${'%C3%A9'.repeat(43)}`)).toEqual({ ok: false, rule: 'is longer than 256 characters' });
  });
});

describe('routing paths', () => {
  it('upper-cases the escapes it keeps, so requests match whichever case they use', () => {
    expect(routingPath('/a%2fb')).toBe(routingPath('/a%2Fb'));
    expect(routingPath('/%c3%a9')).toBe('/é');
  });
});
