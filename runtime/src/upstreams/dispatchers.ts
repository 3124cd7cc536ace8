import { Pool } from 'undici';

function dispatcherKey(origin: string, connectTimeoutMs: number): string {
  return `${origin} ${connectTimeoutMs}`;
}

/**
 * The keep-alive connection pools one config build uses. Pools of the config in force
 * are reused (a config update does not drop warm connections); new ones are created
 * lazily by undici, so an abandoned generation costs nothing to throw away.
 */
export class DispatcherGeneration {
  private readonly live: ReadonlyMap<string, Pool>;
  readonly used = new Map<string, Pool>();
  readonly created: Pool[] = [];

  constructor(live: ReadonlyMap<string, Pool>) {
    this.live = live;
  }

  /** The pool for a member origin; the connect timeout is a pool setting, hence the key. */
  get(origin: string, connectTimeoutMs: number): Pool {
    const key = dispatcherKey(origin, connectTimeoutMs);
    let pool = this.used.get(key) ?? this.live.get(key);
    if (pool === undefined) {
      pool = new Pool(origin, { connect: { timeout: connectTimeoutMs } });
      this.created.push(pool);
    }
    this.used.set(key, pool);
    return pool;
  }
}

/** Every undici pool of the runtime, one per member origin and connect timeout. */
export class Dispatchers {
  private live: ReadonlyMap<string, Pool> = new Map();

  begin(): DispatcherGeneration {
    return new DispatcherGeneration(this.live);
  }

  /**
   * Makes a generation current. Pools it no longer uses are closed gracefully: requests
   * still running on the previous config finish first.
   */
  commit(generation: DispatcherGeneration): Promise<void> {
    const retired = [...this.live].filter(([key]) => !generation.used.has(key)).map(([, pool]) => pool);
    this.live = generation.used;
    return closeAll(retired);
  }

  abandon(generation: DispatcherGeneration): Promise<void> {
    return closeAll(generation.created);
  }

  get size(): number {
    return this.live.size;
  }

  close(): Promise<void> {
    const pools = [...this.live.values()];
    this.live = new Map();
    return closeAll(pools);
  }
}

async function closeAll(pools: readonly Pool[]): Promise<void> {
  await Promise.allSettled(pools.map((pool) => pool.close()));
}
