import { describe, expect, it } from 'vitest';
import { buildRouteTable, malformedPath, type RouteDefinition, type RouteTable } from './route-table.ts';

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
