import { describe, expect, it } from 'vitest';
import { fieldChanges, MAX_FIELD_CHANGES } from './field-changes.ts';

describe('field changes of an audited write', () => {
  it('lists the fields that differ by path, with both values', () => {
    const before = { labels: { team: 'shop' }, spec: { basePath: '/a', timeouts: { connectMs: 2000, requestMs: 15000 }, methods: ['GET'] } };
    const after = { labels: { team: 'shop' }, spec: { basePath: '/a', timeouts: { connectMs: 2000, requestMs: 5000 }, methods: ['GET', 'POST'] } };
    expect(fieldChanges(before, after)).toEqual([
      { field: 'spec.methods', before: ['GET'], after: ['GET', 'POST'] },
      { field: 'spec.timeouts.requestMs', before: 15000, after: 5000 },
    ]);
  });

  it('lists every field of a created or deleted document', () => {
    expect(fieldChanges(undefined, { spec: { members: ['a'] } })).toEqual([{ field: 'spec.members', before: null, after: ['a'] }]);
    expect(fieldChanges({ spec: { url: 'http://x' } }, undefined)).toEqual([{ field: 'spec.url', before: 'http://x', after: null }]);
  });

  it('keeps an event small whatever the write', () => {
    const wide = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]));
    const changes = fieldChanges({}, wide);
    expect(changes).toHaveLength(MAX_FIELD_CHANGES);
    expect(changes.at(-1)).toEqual({ field: '(more)', before: null, after: '437 more fields changed' });
    const [long] = fieldChanges({ d: '' }, { d: 'x'.repeat(10_000) });
    expect(String(long?.after)).toMatch(/^"x{255}… \[9746 more characters\]$/);
  });
});
