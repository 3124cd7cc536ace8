import FindMyWay from 'find-my-way';
import { normalizeBasePath } from './request-target.ts';

/** One API's routes: every host × its base path × its methods lead to `target`. */
export interface RouteDefinition<T> {
  /** Named in conflict messages (the API's resource name). */
  readonly owner: string;
  /** Exact, lower-case host names; empty means any host. */
  readonly hosts: readonly string[];
  readonly basePath: string;
  /** Upper-case methods; empty means every method. */
  readonly methods: readonly string[];
  readonly target: T;
}

/** What the router stores per (host, base path): the targets by method. */
interface RouteNode<T> {
  readonly basePath: string;
  readonly byMethod: Map<string, T>;
  readonly ownerByMethod: Map<string, string>;
  anyMethod: T | undefined;
  anyMethodOwner: string | undefined;
  /** The node of the next shorter base path on the same host, tried when no method matches here. */
  parent: RouteNode<T> | undefined;
}

type Router = ReturnType<typeof FindMyWay>;

/** Returned by `lookup` for a path with broken percent-encoding. */
export const malformedPath: unique symbol = Symbol('malformed path');

export type RouteTableBuild<T> =
  | { readonly ok: true; readonly table: RouteTable<T> }
  | { readonly ok: false; readonly problems: readonly string[] };

/*
 * Why two find-my-way routers and a method map per node, rather than one router with
 * `host` constraints and one tree per method:
 * - find-my-way matches the path first and only then the constraints of that node, so a
 *   host-less `/orders` would beat a host-specific `/` for `a.com/orders/1`. We want the
 *   host-specific API to win (as Kong and Envoy virtual hosts do), so host-specific
 *   routes live in their own router, asked first; the host-less router is the fallback.
 * - find-my-way keeps one tree per method; an API with no method list would have to be
 *   registered in all 35 of them (`all()`), measured at 3 s and 650 MB for 5,000 APIs.
 *   Instead each (host, base path) is registered once, under a carrier method, and the
 *   node maps methods to APIs. When no API at the longest prefix takes the method, the
 *   node's parent (next shorter base path on the same host) is tried, so longest-prefix
 *   holds per method, as a per-method tree would give.
 */
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
function routePattern(basePath: string): string {
  return basePath.replaceAll(':', '::');
}

function parentPath(basePath: string): string {
  const slash = basePath.lastIndexOf('/');
  return slash <= 0 ? '/' : basePath.slice(0, slash);
}

function describe(method: string | undefined, host: string, basePath: string): string {
  return `route ${method ?? '(every method)'} ${host === '' ? '(any host)' : host} ${basePath}`;
}

class Builder<T> {
  readonly problems: string[] = [];
  /** host ('' = any host) → base path → node */
  readonly nodes = new Map<string, Map<string, RouteNode<T>>>();

  add(definition: RouteDefinition<T>): void {
    const basePath = normalizeBasePath(definition.basePath);
    const hosts = definition.hosts.length === 0 ? [''] : [...new Set(definition.hosts)];
    const methods = [...new Set(definition.methods)];
    for (const host of hosts) {
      const node = this.node(host, basePath);
      const clash = (method: string | undefined, other: string): void => {
        this.problems.push(`api "${definition.owner}": ${describe(method, host, basePath)} is already served by api "${other}"`);
      };
      if (methods.length === 0) {
        if (node.anyMethodOwner !== undefined) clash(undefined, node.anyMethodOwner);
        for (const [method, owner] of node.ownerByMethod) clash(method, owner);
        node.anyMethod = definition.target;
        node.anyMethodOwner = definition.owner;
        continue;
      }
      for (const method of methods) {
        const other = node.ownerByMethod.get(method) ?? node.anyMethodOwner;
        if (other !== undefined) clash(method, other);
        node.byMethod.set(method, definition.target);
        node.ownerByMethod.set(method, definition.owner);
      }
    }
  }

  private node(host: string, basePath: string): RouteNode<T> {
    let byPath = this.nodes.get(host);
    if (byPath === undefined) {
      byPath = new Map();
      this.nodes.set(host, byPath);
    }
    let node = byPath.get(basePath);
    if (node === undefined) {
      node = { basePath, byMethod: new Map(), ownerByMethod: new Map(), anyMethod: undefined, anyMethodOwner: undefined, parent: undefined };
      byPath.set(basePath, node);
    }
    return node;
  }

  link(): void {
    for (const byPath of this.nodes.values()) {
      for (const node of byPath.values()) {
        let path = node.basePath;
        while (path !== '/' && node.parent === undefined) {
          path = parentPath(path);
          node.parent = byPath.get(path);
        }
      }
    }
  }
}

/**
 * Builds the lookup structure for a set of APIs, or lists every conflict: two APIs
 * serving the same method on the same host and base path.
 */
export function buildRouteTable<T>(definitions: readonly RouteDefinition<T>[]): RouteTableBuild<T> {
  const builder = new Builder<T>();
  for (const definition of definitions) builder.add(definition);
  if (builder.problems.length > 0) return { ok: false, problems: builder.problems };
  builder.link();
  return { ok: true, table: new RouteTable(builder.nodes) };
}

export function emptyRouteTable<T>(): RouteTable<T> {
  return new RouteTable(new Map());
}

function resolve<T>(start: RouteNode<T>, method: string): T | undefined {
  for (let node: RouteNode<T> | undefined = start; node !== undefined; node = node.parent) {
    const target = node.byMethod.get(method) ?? node.anyMethod;
    if (target !== undefined) return target;
  }
  return undefined;
}

export class RouteTable<T> {
  private readonly hosted: Router | undefined;
  private readonly anyHost: Router | undefined;
  private readonly hosts: ReadonlySet<string>;
  /** Reused for every lookup: find() is synchronous and keeps no reference to it. */
  private readonly constraint = { host: '' };

  constructor(nodes: ReadonlyMap<string, ReadonlyMap<string, RouteNode<T>>>) {
    let hosted: Router | undefined;
    let anyHost: Router | undefined;
    for (const [host, byPath] of nodes) {
      const router = host === '' ? (anyHost ??= newRouter()) : (hosted ??= newRouter());
      const options = host === '' ? {} : { constraints: { host } };
      for (const node of byPath.values()) {
        const pattern = routePattern(node.basePath);
        router.on(carrierMethod, pattern, options, unusedHandler, node);
        router.on(carrierMethod, pattern === '/' ? '/*' : `${pattern}/*`, options, unusedHandler, node);
      }
    }
    this.hosted = hosted;
    this.anyHost = anyHost;
    this.hosts = new Set([...nodes.keys()].filter((host) => host !== ''));
  }

  /**
   * The target for a request: host-specific APIs first (longest base path, then its
   * ancestors), then host-less ones. `host` must be normalized (see normalizeHost) and
   * `path` must not carry the query.
   */
  lookup(method: string, host: string, path: string): T | undefined | typeof malformedPath {
    if (this.hosted !== undefined && this.hosts.has(host)) {
      this.constraint.host = host;
      const found = this.hosted.find(carrierMethod, path, this.constraint);
      if (found !== null) {
        if (found.store === null) return malformedPath;
        const target = resolve(found.store as RouteNode<T>, method);
        if (target !== undefined) return target;
      }
    }
    if (this.anyHost === undefined) return undefined;
    const found = this.anyHost.find(carrierMethod, path);
    if (found === null) return undefined;
    if (found.store === null) return malformedPath;
    return resolve(found.store as RouteNode<T>, method);
  }
}
