import { Agent, request } from 'undici';
import { SOFTWARE_VERSION, type Logger } from '@causeway/shared';
import type { ConnectorFactory } from '../upstreams/address-guard.ts';
import { describeFailure } from '../upstreams/upstream-errors.ts';

/** One target to probe periodically. */
export interface CheckJob {
  /** The full URL to GET. */
  readonly url: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Same signature: the running checker is kept; otherwise it is restarted. */
  readonly signature: string;
  /** `reason` is `ok` or why the check failed (`status 500`, `connect ECONNREFUSED`). */
  onResult(passed: boolean, reason: string): void;
}

export interface HealthCheckerOptions {
  readonly log: Logger;
  readonly random: () => number;
  /** Connects checks as traffic is connected (the upstream deny list applies). */
  readonly connector?: ConnectorFactory;
}

const checkConnectTimeoutMs = 10_000;

/** Interval jitter: each wait is the interval ±10 %, so checks of many runtimes spread out. */
const jitter = 0.1;
/** The first check of a new target comes within this long (or the interval, if shorter). */
const maxInitialDelayMs = 1_000;
/** Bodies of check answers are read up to this size, then dropped. */
const maxBodyBytes = 64 * 1024;
const userAgent = `causeway-runtime/${SOFTWARE_VERSION}`;

interface Running {
  readonly job: CheckJob;
  timer: NodeJS.Timeout | undefined;
  abort: AbortController | undefined;
  stopped: boolean;
}

class CheckTimeout extends Error {
  readonly code = 'CAUSEWAY_CHECK_TIMEOUT';
}

/**
 * Active health checks: one sequential loop per target (a check starts an interval
 * after the previous one ended), each check a GET on a fresh connection through a
 * dedicated undici agent, never the traffic pools. 2xx and 3xx pass.
 */
export class HealthChecker {
  private readonly options: HealthCheckerOptions;
  private readonly agent: Agent;
  private readonly running = new Map<string, Running>();
  private closed = false;

  constructor(options: HealthCheckerOptions) {
    this.options = options;
    const connect = options.connector?.(checkConnectTimeoutMs) ?? { timeout: checkConnectTimeoutMs };
    this.agent = new Agent({ connect, keepAliveTimeout: 1_000 });
  }

  /** Makes `jobs` (by id) the set of running checks: starts new ones, stops gone or changed ones. */
  sync(jobs: ReadonlyMap<string, CheckJob>): void {
    const changes = new Map<string, CheckJob | undefined>(jobs);
    for (const id of this.running.keys()) if (!jobs.has(id)) changes.set(id, undefined);
    this.update(changes);
  }

  /**
   * Changes some checks, by id: a job starts (or keeps running when its signature is
   * the same), undefined stops. Checks not named keep running.
   */
  update(changes: ReadonlyMap<string, CheckJob | undefined>): void {
    if (this.closed) return;
    for (const [id, job] of changes) {
      const running = this.running.get(id);
      if (running !== undefined && job?.signature === running.job.signature) continue;
      if (running !== undefined) {
        this.stop(running);
        this.running.delete(id);
      }
      if (job === undefined) continue;
      const started: Running = { job, timer: undefined, abort: undefined, stopped: false };
      this.running.set(id, started);
      this.schedule(started, this.options.random() * Math.min(job.intervalMs, maxInitialDelayMs));
    }
  }

  get size(): number {
    return this.running.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const running of this.running.values()) this.stop(running);
    this.running.clear();
    await this.agent.close();
  }

  private stop(running: Running): void {
    running.stopped = true;
    clearTimeout(running.timer);
    running.abort?.abort();
  }

  private schedule(running: Running, delayMs: number): void {
    running.timer = setTimeout(() => void this.check(running), delayMs);
    running.timer.unref();
  }

  private nextDelay(intervalMs: number): number {
    return intervalMs * (1 + (this.options.random() * 2 - 1) * jitter);
  }

  private async check(running: Running): Promise<void> {
    const { job } = running;
    const outcome = await this.probe(running);
    if (running.stopped) return;
    running.abort = undefined;
    try {
      job.onResult(outcome.passed, outcome.reason);
    } catch (error) {
      this.options.log.error({ err: error, url: job.url }, 'health check result handling failed');
    }
    this.schedule(running, this.nextDelay(job.intervalMs));
  }

  private async probe(running: Running): Promise<{ passed: boolean; reason: string }> {
    const { job } = running;
    const abort = new AbortController();
    running.abort = abort;
    // Our own timer: undici's coarse timers would let a 1 s timeout fire up to 1 s late.
    const timer = setTimeout(() => abort.abort(new CheckTimeout()), job.timeoutMs);
    try {
      const res = await request(job.url, {
        dispatcher: this.agent,
        method: 'GET',
        headers: { 'user-agent': userAgent },
        // A new connection each time: traffic needs the listener to accept, not just an old socket to live.
        reset: true,
        signal: abort.signal,
      });
      await res.body.dump({ limit: maxBodyBytes });
      const passed = res.statusCode >= 200 && res.statusCode < 400;
      return { passed, reason: passed ? 'ok' : `status ${res.statusCode}` };
    } catch (error) {
      if (abort.signal.aborted) return { passed: false, reason: `timeout after ${job.timeoutMs} ms` };
      return { passed: false, reason: describeFailure(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}
