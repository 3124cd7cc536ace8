import { routingPath } from '@causeway/shared';

/** What the tree holds per (host, base path): the targets by method. */
export interface RouteNode<T> {
  /**
   * The node of the next shorter base path on the same host, tried when no method
   * matches here. It may have no targets itself (then its own parent is tried).
   */
  readonly parent: RouteNode<T> | undefined;
  /** The segment this node adds to its parent's path, decoded as request paths are. */
  readonly segment: string;
  /** Nodes one segment longer, by that segment (created with the first one). */
  children: Map<string, RouteNode<T>> | undefined;
  /** Targets of APIs with a method list, by method (created with the first one). */
  byMethod: Map<string, { readonly owner: string; readonly target: T }> | undefined;
  anyMethod: T | undefined;
  anyMethodOwner: string | undefined;
}

/** Returned by `lookup` for a path with broken percent-encoding. */
export const malformedPath: unique symbol = Symbol('malformed path');

export function hasTargets<T>(node: RouteNode<T>): boolean {
  return node.anyMethodOwner !== undefined || (node.byMethod !== undefined && node.byMethod.size > 0);
}

function newNode<T>(parent: RouteNode<T> | undefined, segment: string): RouteNode<T> {
  return { parent, segment, children: undefined, byMethod: undefined, anyMethod: undefined, anyMethodOwner: undefined };
}

/** The segments of a normalized base path, as `routingPath` decodes them (`/` has none). */
function segmentsOf(basePath: string): string[] {
  if (basePath === '/') return [];
  // A base path with escapes that do not decode can never match a request (those are refused).
  return (routingPath(basePath) ?? basePath).slice(1).split('/');
}

/**
 * One host's routes (or the host-less ones): a tree of path segments whose nodes hold
 * the targets of one base path each. A lookup walks the request path one segment at a
 * time, so its cost depends on the path, not on the number of routes; a change touches
 * only the nodes of the base paths it names, and a node left without targets or children
 * is dropped.
 */
export class RouteTree<T> {
  private readonly root: RouteNode<T> = newNode(undefined, '');
  private withTargets = 0;

  /** Nodes with targets. */
  get live(): number {
    return this.withTargets;
  }

  node(basePath: string): RouteNode<T> | undefined {
    let node: RouteNode<T> | undefined = this.root;
    for (const segment of segmentsOf(basePath)) {
      node = node.children?.get(segment);
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** The node of a base path, created with its ancestors when missing. */
  ensure(basePath: string): RouteNode<T> {
    let node = this.root;
    for (const segment of segmentsOf(basePath)) {
      let child = node.children?.get(segment);
      if (child === undefined) {
        child = newNode(node, segment);
        (node.children ??= new Map()).set(segment, child);
      }
      node = child;
    }
    return node;
  }

  /** A node got its first target. */
  filled(): void {
    this.withTargets++;
  }

  /** A node lost its last target (see `prune`). */
  emptied(): void {
    this.withTargets--;
  }

  /** Drops a node that has neither targets nor children, and the ancestors it alone kept. */
  prune(start: RouteNode<T>): void {
    for (let node = start; node.parent !== undefined; node = node.parent) {
      if (hasTargets(node) || (node.children?.size ?? 0) > 0) return;
      node.parent.children?.delete(node.segment);
      if (node.parent.children?.size === 0) node.parent.children = undefined;
    }
  }

  /** The node of the longest base path that `path` is under, by whole segments (at least the root). */
  find(path: string): RouteNode<T> | typeof malformedPath {
    const decoded = routingPath(path);
    if (decoded === undefined) return malformedPath;
    let node = this.root;
    let start = 1;
    while (node.children !== undefined && start <= decoded.length) {
      const slash = decoded.indexOf('/', start);
      const end = slash === -1 ? decoded.length : slash;
      const child = node.children.get(decoded.slice(start, end));
      if (child === undefined) break;
      node = child;
      start = end + 1;
    }
    return node;
  }
}
