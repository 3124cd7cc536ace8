import { Pool } from 'undici';
import type { ConnectorFactory } from './address-guard.ts';

/** A pool per member origin and connect timeout (a pool setting, hence part of the key). */
export function dispatcherKey(origin: string, connectTimeoutMs: number): string {
  return `${origin} ${connectTimeoutMs}`;
}

interface LivePool {
  readonly pool: Pool;
  /** Targets of the config in force that use it. */
  users: number;
}

/**
 * The changes one config build makes to the pools: each `get` is one more user of a
 * pool, each `release` one fewer. Pools of the config in force are reused (a config
 * update does not drop warm connections); new ones are created lazily by undici, so an
 * abandoned plan costs nothing to throw away.
 */
export class DispatcherPlan {
  private readonly live: ReadonlyMap<string, LivePool>;
  private readonly connector: ConnectorFactory | undefined;
  /** A complete plan: every pool in force loses its users first, so it keeps only what the build gets. */
  readonly complete: boolean;
  readonly created = new Map<string, Pool>();
  /** Users gained (positive) or lost (negative) by pool key. */
  readonly delta = new Map<string, number>();

  constructor(live: ReadonlyMap<string, LivePool>, complete: boolean, connector: ConnectorFactory | undefined) {
    this.live = live;
    this.complete = complete;
    this.connector = connector;
  }

  /** The pool for a member origin, with one more user. */
  get(origin: string, connectTimeoutMs: number, key = dispatcherKey(origin, connectTimeoutMs)): Pool {
    this.delta.set(key, (this.delta.get(key) ?? 0) + 1);
    let pool = this.created.get(key) ?? this.live.get(key)?.pool;
    if (pool === undefined) {
      pool = new Pool(origin, { connect: this.connector?.(connectTimeoutMs) ?? { timeout: connectTimeoutMs } });
      this.created.set(key, pool);
    }
    return pool;
  }

  /** One user fewer for the pool of `key` (a target of a config being replaced). */
  release(key: string): void {
    this.delta.set(key, (this.delta.get(key) ?? 0) - 1);
  }
}

/** Every undici pool of the runtime, one per member origin and connect timeout, with its number of users. */
export class Dispatchers {
  private readonly live = new Map<string, LivePool>();
  private readonly connector: ConnectorFactory | undefined;

  /** `connector` connects every pool (the upstream deny list); default: undici's own. */
  constructor(connector?: ConnectorFactory) {
    this.connector = connector;
  }

  /** A plan that replaces every pool user: what it does not get is closed on commit. */
  plan(): DispatcherPlan {
    return new DispatcherPlan(this.live, true, this.connector);
  }

  /** A plan that adds and releases users of the pools in force. */
  changes(): DispatcherPlan {
    return new DispatcherPlan(this.live, false, this.connector);
  }

  /**
   * Makes a plan current. Pools left without users are closed gracefully:
   * requests still running on the previous config finish first.
   */
  commit(plan: DispatcherPlan): Promise<void> {
    if (plan.complete) for (const entry of this.live.values()) entry.users = 0;
    const touched = plan.complete ? [...this.live.keys()] : [];
    for (const [key, delta] of plan.delta) {
      const pool = plan.created.get(key);
      if (pool !== undefined) this.live.set(key, { pool, users: 0 });
      const entry = this.live.get(key);
      if (entry !== undefined) entry.users += delta;
      touched.push(key);
    }
    const retired: Pool[] = [];
    for (const key of touched) {
      const entry = this.live.get(key);
      if (entry === undefined || entry.users > 0) continue;
      this.live.delete(key);
      retired.push(entry.pool);
    }
    return closeAll(retired);
  }

  abandon(plan: DispatcherPlan): Promise<void> {
    return closeAll([...plan.created.values()]);
  }

  get size(): number {
    return this.live.size;
  }

  close(): Promise<void> {
    const pools = [...this.live.values()].map((entry) => entry.pool);
    this.live.clear();
    return closeAll(pools);
  }
}

async function closeAll(pools: readonly Pool[]): Promise<void> {
  await Promise.allSettled(pools.map((pool) => pool.close()));
}
