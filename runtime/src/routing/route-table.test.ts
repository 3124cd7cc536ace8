import { describe, expect, it } from 'vitest';
import { buildRouteTable } from '../testing/build-route-table.ts';
import { malformedPath, type RouteDefinition, type RouteTable } from './route-table.ts';

type Def = Omit<RouteDefinition<string>, 'target' | 'hosts' | 'methods'> & { hosts?: string[]; methods?: string[] };

function table(...defs: Def[]): RouteTable<string> {
  const built = buildRouteTable(defs.map((d) => ({ hosts: [], methods: [], ...d, target: d.owner })));
  if (!built.ok) throw new Error(built.problems.join('\n'));
  return built.table;
}

describe('route table', () => {
  it('matches a base path by whole segments', () => {
    const routes = table({ owner: 'orders', basePath: '/orders' });
    expect(routes.lookup('GET', 'a.com', '/orders')).toBe('orders');
    expect(routes.lookup('GET', 'a.com', '/orders/')).toBe('orders');
    expect(routes.lookup('GET', 'a.com', '/orders/1/items')).toBe('orders');
    expect(routes.lookup('GET', 'a.com', '/ordersx')).toBeUndefined();
    expect(routes.lookup('GET', 'a.com', '/order')).toBeUndefined();
    expect(routes.lookup('GET', 'a.com', '/')).toBeUndefined();
  });

  it('prefers the longest base path', () => {
    const routes = table(
      { owner: 'root', basePath: '/' },
      { owner: 'orders', basePath: '/orders' },
      { owner: 'items', basePath: '/orders/items' },
    );
    expect(routes.lookup('GET', '', '/orders/items/7')).toBe('items');
    expect(routes.lookup('GET', '', '/orders/items')).toBe('items');
    expect(routes.lookup('GET', '', '/orders/itemsx')).toBe('orders');
    expect(routes.lookup('GET', '', '/orders/1')).toBe('orders');
    expect(routes.lookup('GET', '', '/ordersx')).toBe('root');
  });

  it("serves everything from '/' as a catch-all", () => {
    const routes = table({ owner: 'root', basePath: '/' });
    expect(routes.lookup('GET', '', '/')).toBe('root');
    expect(routes.lookup('DELETE', 'x.org', '/a/b/c')).toBe('root');
  });

  it('treats a trailing slash on the base path as the same base path', () => {
    const routes = table({ owner: 'orders', basePath: '/orders/' });
    expect(routes.lookup('GET', '', '/orders')).toBe('orders');
    expect(routes.lookup('GET', '', '/orders/1')).toBe('orders');
  });

  it('lets a host-specific API win over a host-less one, even with a shorter base path', () => {
    const routes = table({ owner: 'any-orders', basePath: '/orders' }, { owner: 'a-root', basePath: '/', hosts: ['a.com'] });
    expect(routes.lookup('GET', 'a.com', '/orders/1')).toBe('a-root');
    expect(routes.lookup('GET', 'b.com', '/orders/1')).toBe('any-orders');
    expect(routes.lookup('GET', '', '/orders/1')).toBe('any-orders');
  });

  it('falls back to host-less APIs when the host has no matching base path', () => {
    const routes = table({ owner: 'a-orders', basePath: '/orders', hosts: ['a.com'] }, { owner: 'any-users', basePath: '/users' });
    expect(routes.lookup('GET', 'a.com', '/users/1')).toBe('any-users');
    expect(routes.lookup('GET', 'a.com', '/orders/1')).toBe('a-orders');
    expect(routes.lookup('GET', 'b.com', '/orders/1')).toBeUndefined();
  });

  it('keeps hosts apart in one router (backtracks to the right host)', () => {
    const routes = table({ owner: 'b-y', basePath: '/y', hosts: ['b.com'] }, { owner: 'a-root', basePath: '/', hosts: ['a.com'] });
    expect(routes.lookup('GET', 'a.com', '/y/1')).toBe('a-root');
    expect(routes.lookup('GET', 'b.com', '/y/1')).toBe('b-y');
    expect(routes.lookup('GET', 'b.com', '/z')).toBeUndefined();
  });

  it('filters by method and falls back to a shorter base path that takes the method', () => {
    const routes = table(
      { owner: 'read-orders', basePath: '/orders', methods: ['GET', 'HEAD'] },
      { owner: 'write-orders', basePath: '/orders', methods: ['POST'] },
      { owner: 'root', basePath: '/' },
    );
    expect(routes.lookup('GET', '', '/orders/1')).toBe('read-orders');
    expect(routes.lookup('POST', '', '/orders')).toBe('write-orders');
    expect(routes.lookup('DELETE', '', '/orders/1')).toBe('root');
  });

  it('finds no route when no API takes the method', () => {
    const routes = table({ owner: 'read-orders', basePath: '/orders', methods: ['GET'] });
    expect(routes.lookup('POST', '', '/orders')).toBeUndefined();
  });

  it('prefers a longer every-method base path over a shorter method-specific one', () => {
    const routes = table({ owner: 'get-orders', basePath: '/orders', methods: ['GET'] }, { owner: 'items', basePath: '/orders/items' });
    expect(routes.lookup('GET', '', '/orders/items/1')).toBe('items');
  });

  it('finds nothing in an empty table', () => {
    expect(table().lookup('GET', 'a.com', '/')).toBeUndefined();
  });

  it('matches base paths with a colon literally', () => {
    const routes = table({ owner: 'colon', basePath: '/v1:batch' });
    expect(routes.lookup('POST', '', '/v1:batch/x')).toBe('colon');
    expect(routes.lookup('POST', '', '/v1:other')).toBeUndefined();
  });

  it('reports malformed percent-encoding', () => {
    const routes = table({ owner: 'root', basePath: '/' });
    expect(routes.lookup('GET', '', '/a/%zz')).toBe(malformedPath);
  });

  it('does not decode an encoded slash into a segment boundary', () => {
    const routes = table({ owner: 'a', basePath: '/a' });
    expect(routes.lookup('GET', '', '/a%2Fb')).toBeUndefined();
  });

  it('compares base paths and request paths with their percent-escapes decoded', () => {
    const routes = table({ owner: 'orders', basePath: '/%6Frders' }, { owner: 'a-b', basePath: '/a%2Fb' }, { owner: 'pct', basePath: '/100%25' });
    expect(routes.lookup('GET', '', '/orders/1')).toBe('orders');
    expect(routes.lookup('GET', '', '/%6frders')).toBe('orders');
    expect(routes.lookup('GET', '', '/a%2Fb/x')).toBe('a-b');
    expect(routes.lookup('GET', '', '/a/b')).toBeUndefined();
    expect(routes.lookup('GET', '', '/100%25/x')).toBe('pct');
    expect(routes.lookup('GET', '', '/100%2525')).toBeUndefined();
    const built = buildRouteTable([
      { owner: 'plain', hosts: [], basePath: '/orders', methods: [], target: 1 },
      { owner: 'escaped', hosts: [], basePath: '/%6Frders', methods: [], target: 2 },
    ]);
    expect(built.ok ? [] : built.problems).toEqual(['api "escaped": route (every method) (any host) /orders is already served by api "plain"']);
  });

  it('ends the path at a fragment', () => {
    const routes = table({ owner: 'orders', basePath: '/orders' });
    expect(routes.lookup('GET', '', '/orders#x')).toBe('orders');
    expect(routes.lookup('GET', '', '/#/orders')).toBeUndefined();
  });

  it('rejects two APIs serving the same method, host and base path', () => {
    const built = buildRouteTable([
      { owner: 'first', hosts: ['a.com'], basePath: '/orders', methods: ['GET'], target: 1 },
      { owner: 'second', hosts: ['a.com', 'b.com'], basePath: '/orders/', methods: ['POST', 'GET'], target: 2 },
      { owner: 'third', hosts: [], basePath: '/', methods: [], target: 3 },
      { owner: 'fourth', hosts: [], basePath: '/', methods: ['PUT'], target: 4 },
    ]);
    expect(built.ok).toBe(false);
    if (built.ok) return;
    expect(built.problems).toEqual([
      'api "second": route GET a.com /orders is already served by api "first"',
      'api "fourth": route PUT (any host) / is already served by api "third"',
    ]);
  });

  it('accepts the same base path on different hosts or with disjoint methods', () => {
    const built = buildRouteTable([
      { owner: 'a', hosts: ['a.com'], basePath: '/orders', methods: [], target: 1 },
      { owner: 'b', hosts: ['b.com'], basePath: '/orders', methods: [], target: 2 },
      { owner: 'c', hosts: [], basePath: '/orders', methods: ['GET'], target: 3 },
      { owner: 'd', hosts: [], basePath: '/orders', methods: ['POST'], target: 4 },
    ]);
    expect(built.ok).toBe(true);
  });
});

describe('route table changes', () => {
  type Change = { removals?: string[]; upserts?: Def[] };

  function change(routes: RouteTable<string>, { removals = [], upserts = [] }: Change): void {
    const routeChange = { removals, upserts: upserts.map((d) => ({ hosts: [], methods: [], ...d, target: d.owner })) };
    const problems = routes.conflicts(routeChange);
    if (problems.length > 0) throw new Error(problems.join('\n'));
    routes.apply(routeChange);
  }

  it('moves an API whose base path changes: the old path finds nothing, the new one the API', () => {
    const routes = table({ owner: 'orders', basePath: '/orders' }, { owner: 'users', basePath: '/users' });
    change(routes, { upserts: [{ owner: 'orders', basePath: '/v2/orders' }] });
    expect(routes.lookup('GET', '', '/orders/1')).toBeUndefined();
    expect(routes.lookup('GET', '', '/v2/orders/1')).toBe('orders');
    expect(routes.lookup('GET', '', '/v2')).toBeUndefined();
    expect(routes.lookup('GET', '', '/users/1')).toBe('users');
  });

  it('keeps host precedence and longest prefix as hosts are added to and removed from an API', () => {
    const routes = table({ owner: 'any-orders', basePath: '/orders' }, { owner: 'root', basePath: '/' });
    change(routes, { upserts: [{ owner: 'root', basePath: '/', hosts: ['a.com'] }] });
    // A host-specific '/' now beats the host-less '/orders' on its host, and only there.
    expect(routes.lookup('GET', 'a.com', '/orders/1')).toBe('root');
    expect(routes.lookup('GET', 'b.com', '/orders/1')).toBe('any-orders');
    expect(routes.lookup('GET', 'b.com', '/other')).toBeUndefined();
    change(routes, { upserts: [{ owner: 'a-orders', basePath: '/orders/items', hosts: ['a.com'] }] });
    expect(routes.lookup('GET', 'a.com', '/orders/items/7')).toBe('a-orders');
    expect(routes.lookup('GET', 'a.com', '/orders/1')).toBe('root');
    // Back to host-less: a.com falls back to the host-less routes again.
    change(routes, { upserts: [{ owner: 'root', basePath: '/' }], removals: ['a-orders'] });
    expect(routes.lookup('GET', 'a.com', '/orders/1')).toBe('any-orders');
    expect(routes.lookup('GET', 'a.com', '/orders/items/7')).toBe('any-orders');
    expect(routes.lookup('GET', 'a.com', '/other')).toBe('root');
  });

  it('follows a change of methods, falling back to a shorter base path that takes the method', () => {
    const routes = table({ owner: 'orders', basePath: '/orders', methods: ['GET'] }, { owner: 'root', basePath: '/', methods: ['POST'] });
    expect(routes.lookup('POST', '', '/orders/1')).toBe('root');
    change(routes, { upserts: [{ owner: 'orders', basePath: '/orders', methods: ['POST'] }] });
    expect(routes.lookup('POST', '', '/orders/1')).toBe('orders');
    expect(routes.lookup('GET', '', '/orders/1')).toBeUndefined();
    change(routes, { upserts: [{ owner: 'orders', basePath: '/orders' }] });
    expect(routes.lookup('DELETE', '', '/orders/1')).toBe('orders');
  });

  it('lets two APIs swap base paths in one change', () => {
    const routes = table({ owner: 'a', basePath: '/x' }, { owner: 'b', basePath: '/y' });
    change(routes, { upserts: [{ owner: 'a', basePath: '/y' }, { owner: 'b', basePath: '/x' }] });
    expect(routes.lookup('GET', '', '/x/1')).toBe('b');
    expect(routes.lookup('GET', '', '/y/1')).toBe('a');
  });

  it('checks a change against the routes that stay and among its own APIs', () => {
    const routes = table({ owner: 'a', basePath: '/orders', hosts: ['a.com'] }, { owner: 'b', basePath: '/users' });
    expect(
      routes.conflicts({
        removals: ['b'],
        upserts: [
          { owner: 'c', hosts: ['a.com'], basePath: '/orders/', methods: ['GET'], target: 'c' },
          { owner: 'd', hosts: [], basePath: '/users', methods: [], target: 'd' },
          { owner: 'e', hosts: [], basePath: '/users', methods: ['PUT'], target: 'e' },
        ],
      }),
    ).toEqual([
      'api "c": route GET a.com /orders is already served by api "a"',
      'api "e": route PUT (any host) /users is already served by api "d"',
    ]);
    // The API being replaced does not conflict with itself, nor a removed one with its successor.
    expect(routes.conflicts({ removals: ['b'], upserts: [{ owner: 'a', hosts: ['a.com'], basePath: '/orders', methods: [], target: 'a' }, { owner: 'f', hosts: [], basePath: '/users', methods: [], target: 'f' }] })).toEqual([]);
    expect(routes.lookup('GET', 'a.com', '/orders')).toBe('a'); // conflicts() changes nothing
  });

  it('answers from the host-less routes for a path whose host-specific API moved away', () => {
    const routes = table({ owner: 'a-orders', basePath: '/orders', hosts: ['a.com'] }, { owner: 'a-users', basePath: '/users', hosts: ['a.com'] }, { owner: 'any', basePath: '/' });
    change(routes, { upserts: [{ owner: 'a-orders', basePath: '/v2/orders', hosts: ['a.com'] }] });
    expect(routes.lookup('GET', 'a.com', '/orders/1')).toBe('any');
    expect(routes.lookup('GET', 'a.com', '/v2/orders/1')).toBe('a-orders');
    expect(routes.lookup('GET', 'a.com', '/users')).toBe('a-users');
  });

  it('keeps lookups right while routes churn', () => {
    const routes = table();
    const live = new Map<string, string>();
    for (let i = 0; i < 300; i++) {
      const owner = `api-${i % 40}`;
      const basePath = `/p${i}/v${i % 3}`;
      change(routes, { upserts: [{ owner, basePath, ...(i % 2 === 0 ? { hosts: ['a.com'] } : {}) }] });
      live.set(owner, basePath);
    }
    for (let i = 0; i < 300; i++) {
      const owner = [...live].find(([, path]) => path === `/p${i}/v${i % 3}`)?.[0];
      expect(routes.lookup('GET', i % 2 === 0 ? 'a.com' : '', `/p${i}/v${i % 3}/x`)).toBe(owner);
    }
    change(routes, { removals: [...live.keys()] });
    expect(routes.lookup('GET', 'a.com', '/p299/v2')).toBeUndefined();
    expect(routes.lookup('GET', '', '/p299/v2')).toBeUndefined();
  });

  it('serves many hosts on the same base path', () => {
    const defs = Array.from({ length: 40 }, (_, i) => ({ owner: `tenant-${i}`, basePath: '/', hosts: [`t${i}.example.com`] }));
    const routes = table(...defs);
    expect(routes.lookup('GET', 't0.example.com', '/x')).toBe('tenant-0');
    expect(routes.lookup('GET', 't39.example.com', '/')).toBe('tenant-39');
    expect(routes.lookup('GET', 'other.example.com', '/')).toBeUndefined();
  });
});
