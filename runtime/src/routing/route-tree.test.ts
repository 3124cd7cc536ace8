import { describe, expect, it } from 'vitest';
import { routingPath } from '@causeway/shared';
import { malformedPath, RouteTree } from './route-tree.ts';

function withTarget(tree: RouteTree<string>, basePath: string): void {
  const node = tree.ensure(basePath);
  node.anyMethod = basePath;
  node.anyMethodOwner = basePath;
  tree.filled();
}

function withoutTarget(tree: RouteTree<string>, basePath: string): void {
  const node = tree.node(basePath);
  if (node === undefined) throw new Error(`no node for ${basePath}`);
  node.anyMethod = undefined;
  node.anyMethodOwner = undefined;
  tree.emptied();
  tree.prune(node);
}

describe('route tree', () => {
  it('finds the deepest node a path is under, by whole segments', () => {
    const tree = new RouteTree<string>();
    withTarget(tree, '/a/b');
    const found = (path: string) => {
      const node = tree.find(path);
      return node === malformedPath ? node : node.anyMethod;
    };
    expect(found('/a/b/c')).toBe('/a/b');
    expect(found('/a/bc')).toBeUndefined(); // the node of /a, which has no target
    expect(found('/a%2Fb/c')).toBeUndefined();
    expect(found('/a/%zz')).toBe(malformedPath);
  });

  it('drops a node left without targets, and the ancestors only it kept', () => {
    const tree = new RouteTree<string>();
    withTarget(tree, '/a/b/c');
    withTarget(tree, '/a/x');
    withoutTarget(tree, '/a/b/c');
    expect(tree.node('/a/b')).toBeUndefined();
    expect(tree.node('/a')).toBeDefined(); // still the parent of /a/x
    withoutTarget(tree, '/a/x');
    expect(tree.node('/a')).toBeUndefined();
    expect(tree.live).toBe(0);
  });

  it('keeps a node without targets that still has children', () => {
    const tree = new RouteTree<string>();
    withTarget(tree, '/a');
    withTarget(tree, '/a/b');
    withoutTarget(tree, '/a');
    expect(tree.node('/a/b')?.anyMethod).toBe('/a/b');
  });

  it('decodes percent-escapes except those of delimiters and of % itself', () => {
    expect(routingPath('/%6Frders/%5Bx%5D')).toBe('/orders/[x]');
    expect(routingPath('/a%2Fb%3Ac')).toBe('/a%2Fb%3Ac');
    expect(routingPath('/100%25')).toBe('/100%25');
    expect(routingPath('/a#b')).toBe('/a');
    expect(routingPath('/%E0%A4%A')).toBeUndefined();
    expect(routingPath('/a%2fb%3a')).toBe('/a%2Fb%3A');
  });
});
