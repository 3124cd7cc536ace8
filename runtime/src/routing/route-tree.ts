import FindMyWay from 'find-my-way';

/** What the router stores per (host, base path): the targets by method. */
export interface RouteNode<T> {
  readonly basePath: string;
  /**
   * The node of the next shorter base path on the same host, tried when no method
   * matches here. It may have no targets itself (then its own parent is tried).
   */
  readonly parent: RouteNode<T> | undefined;
  /** Targets of APIs with a method list, by method (created with the first one). */
  byMethod: Map<string, { readonly owner: string; readonly target: T }> | undefined;
  anyMethod: T | undefined;
  anyMethodOwner: string | undefined;
  /** Nodes whose parent this is: a node is dropped only without children. */
  children: number;
  /** In the router: every node with targets, and those that lost them since the last compaction. */
  registered: boolean;
}

type Router = ReturnType<typeof FindMyWay>;

/** Returned by `lookup` for a path with broken percent-encoding. */
export const malformedPath: unique symbol = Symbol('malformed path');

/**
 * Nodes left in a router without targets, at least, before it is rebuilt without them.
 * Below this, rebuilding costs more than the dead entries do.
 */
const minVacantForCompaction = 64;

const carrierMethod = 'GET';

function unusedHandler(): void {}

function noQuery(): Record<string, string> {
  return {};
}

function newRouter(): Router {
  // onBadUrl makes find() return a result with a null store for malformed
  // percent-encoding, telling it apart from "no route".
  return FindMyWay({ querystringParser: noQuery, onBadUrl: unusedHandler });
}

/** find-my-way reads ':' as a parameter; '::' is a literal colon. */
function routePattern(path: string): string {
  return path.replaceAll(':', '::');
}

function parentPath(basePath: string): string {
  const slash = basePath.lastIndexOf('/');
  return slash <= 0 ? '/' : basePath.slice(0, slash);
}

export function hasTargets<T>(node: RouteNode<T>): boolean {
  return node.anyMethodOwner !== undefined || (node.byMethod !== undefined && node.byMethod.size > 0);
}

/**
 * One host's routes (or the host-less ones): a find-my-way router and its nodes, one
 * per base path, each registered once under a carrier method.
 *
 * find-my-way's `off()` rebuilds the whole router, so nodes that lose their targets stay
 * registered (a lookup that lands on one walks up to its parents, which gives the same
 * answer as if it were gone) until they outnumber the others; then the router is
 * rebuilt once. That keeps a change's cost proportional to the routes it changes.
 */
export class RouteTree<T> {
  private router: Router = newRouter();
  private readonly nodes = new Map<string, RouteNode<T>>();
  private registered = 0;
  private vacant = 0;

  /** Nodes with targets. */
  get live(): number {
    return this.registered - this.vacant;
  }

  node(basePath: string): RouteNode<T> | undefined {
    return this.nodes.get(basePath);
  }

  /** The node of a base path, created with its ancestors when missing. */
  ensure(basePath: string): RouteNode<T> {
    const existing = this.nodes.get(basePath);
    if (existing !== undefined) return existing;
    const parent = basePath === '/' ? undefined : this.ensure(parentPath(basePath));
    if (parent !== undefined) parent.children++;
    const node: RouteNode<T> = {
      basePath,
      parent,
      byMethod: undefined,
      anyMethod: undefined,
      anyMethodOwner: undefined,
      children: 0,
      registered: false,
    };
    this.nodes.set(basePath, node);
    return node;
  }

  /** A node got its first target: it goes into the router (unless it still is). */
  filled(node: RouteNode<T>): void {
    if (node.registered) {
      this.vacant--;
      return;
    }
    register(this.router, node);
    node.registered = true;
    this.registered++;
  }

  /** A node lost its last target: it stays in the router until the next compaction. */
  emptied(): void {
    this.vacant++;
  }

  /** Rebuilds the router once vacant nodes outnumber the others (amortized O(1) per removal). */
  compactIfWorthIt(): void {
    if (this.vacant < minVacantForCompaction || this.vacant <= this.registered - this.vacant) return;
    const router = newRouter();
    let registered = 0;
    for (const node of this.nodes.values()) {
      node.registered = hasTargets(node);
      if (!node.registered) continue;
      register(router, node);
      registered++;
    }
    for (const node of this.nodes.values()) this.prune(node);
    this.router = router;
    this.registered = registered;
    this.vacant = 0;
  }

  /** Drops a node without targets, registration or children, then its parent likewise. */
  private prune(start: RouteNode<T>): void {
    for (let node: RouteNode<T> | undefined = start; node !== undefined; node = node.parent) {
      if (hasTargets(node) || node.registered || node.children > 0 || this.nodes.get(node.basePath) !== node) return;
      this.nodes.delete(node.basePath);
      if (node.parent !== undefined) node.parent.children--;
    }
  }

  /** The node of the longest registered base path that `path` is under. */
  find(path: string): RouteNode<T> | undefined | typeof malformedPath {
    const found = this.router.find(carrierMethod, path);
    if (found === null) return undefined;
    if (found.store === null) return malformedPath;
    return found.store as RouteNode<T>;
  }
}

function register<T>(router: Router, node: RouteNode<T>): void {
  const pattern = routePattern(node.basePath);
  router.on(carrierMethod, pattern, {}, unusedHandler, node);
  router.on(carrierMethod, pattern === '/' ? '/*' : `${pattern}/*`, {}, unusedHandler, node);
}
