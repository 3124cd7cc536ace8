import type { Scope } from '../store/resource-store.ts';

/** A scope for tests that write through the store: the bootstrap actor in `org`. */
export function testScope(org = 'default'): Scope {
  return { org, audit: { actor: { kind: 'bootstrap', id: 'bootstrap', name: 'bootstrap' }, requestId: 'test', source: 'test', controllerId: 'test' } };
}
