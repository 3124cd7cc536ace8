import { CausewayError, kindByTypeUrl, type Logger, type ResourceKind } from '@causeway/shared';
import type { DiscoveryResponse } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import type { ConfigCache } from './cache/config-cache.ts';
import type { MemberDescription, MemberReport } from './health/member-tracker.ts';
import type { OutlierSettings } from './health/outlier.ts';
import { UpstreamHealth } from './health/upstream-health.ts';
import { KeySets, type KeyFetchSettings } from './policies/issuer-keys.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { decodeResponse } from './resources/decode-response.ts';
import { HeldResources } from './resources/held-resources.ts';
import { PendingResources } from './resources/pending-resources.ts';
import { resourceVersions, type ConfigSource, type Resources, type ResourceUpdate } from './resources/resources.ts';
import { updateProblems } from './resources/validate.ts';
import type { ServingConfig } from './routing/serving-config.ts';
import { ServingUpdater } from './routing/serving-updater.ts';
import type { ConnectorFactory } from './upstreams/address-guard.ts';
import { Dispatchers } from './upstreams/dispatchers.ts';
import type { ApplyOutcome, ConfigTarget } from './xds-client/config-target.ts';

export interface ConfigApplierOptions {
  readonly zone: string;
  readonly maxRequestTimeoutMs: number;
  readonly metrics: RuntimeMetrics;
  readonly log: Logger;
  readonly cache: ConfigCache | undefined;
  readonly now?: () => number;
  /** Jitters health check intervals. */
  readonly random?: () => number;
  readonly outlier?: OutlierSettings;
  /** Called after a member changes state (to send a health report soon). */
  readonly onMemberChange?: () => void;
  /** Connects upstream pools and active checks (the upstream deny list); default: undici's own. */
  readonly connector?: ConnectorFactory;
  /** How JWT issuers' key sets are fetched and kept; default: 10 s cooldown, 10 min max age. */
  readonly keyFetch?: KeyFetchSettings;
}

/** The distinct hop keys of the zones held: one, as the controller gives every zone the same key. */
function hopKeysOf(zones: Resources['zone']): readonly Uint8Array[] {
  const keys = new Map<string, Uint8Array>();
  for (const { message } of zones.values()) {
    if (message.hopKey.length > 0) keys.set(Buffer.from(message.hopKey).toString('hex'), message.hopKey);
  }
  return Object.freeze([...keys.values()]);
}

/**
 * The config in force, and the one way in for it: `apply()` validates a controller
 * update against the resources it would produce (through indexes, touching only what it
 * changes), builds what it changes, then changes resources, routes, health and pools in
 * one synchronous step. Requests read `serving` once and finish on what they read.
 */
export class ConfigApplier implements ConfigTarget {
  private readonly held = new HeldResources();
  private readonly updater = new ServingUpdater();
  private configSource: ConfigSource = 'none';
  private readonly options: ConfigApplierOptions;
  private readonly now: () => number;
  private readonly dispatchers: Dispatchers;
  /** Member states, active checks and DTC targets; what requests report to. */
  readonly health: UpstreamHealth;
  private readonly retiring = new Set<Promise<void>>();
  private readonly rejectedApis = new Map<string, string>();
  private zoneHopKeys: readonly Uint8Array[] = [];
  private readonly keySets: KeySets;

  constructor(options: ConfigApplierOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.dispatchers = new Dispatchers(options.connector);
    this.keySets = new KeySets(options.keyFetch, (result) => options.metrics.policies.jwksFetches.inc({ result }));
    this.health = new UpstreamHealth({
      log: options.log,
      metrics: options.metrics,
      random: options.random ?? Math.random,
      now: this.now,
      ...(options.outlier && { outlier: options.outlier }),
      ...(options.onMemberChange && { onMemberChange: options.onMemberChange }),
      ...(options.connector && { connector: options.connector }),
    });
  }

  /** What the proxy reads; a request reads it once and finishes on what it read. */
  get serving(): ServingConfig {
    return this.updater.config;
  }

  /** The hop keys of the zones held, which a hop marker must be signed with. */
  get hopKeys(): readonly Uint8Array[] {
    return this.zoneHopKeys;
  }

  /** The resources in force (changed in place by each update: read synchronously). */
  get resources(): Resources {
    return this.held;
  }

  get source(): ConfigSource {
    return this.configSource;
  }

  /** The highest revision applied (0 before any config). */
  get revision(): bigint {
    return this.held.revision;
  }

  /** A member's state and why, for the /config dump. */
  memberHealth(cluster: string, member: string, url: string): MemberDescription | undefined {
    return this.health.members.describe(cluster, member, url);
  }

  /** What this runtime sees of every member of every cluster in use, for reports. */
  memberReports(): MemberReport[] {
    return this.health.members.reports();
  }

  /**
   * A controller stream is established: with delta semantics it sends only what differs,
   * so a config restored from the cache is now the controller's too.
   */
  confirm(): void {
    if (this.configSource !== 'cache') return;
    this.configSource = 'controller';
    this.options.metrics.servingFromCache.set(0);
  }

  versions(kind: ResourceKind): Record<string, string> {
    return resourceVersions(this.held, kind);
  }

  /**
   * Applies one controller response. On failure nothing changes and the message says
   * which resource broke which rule (it becomes the NACK's error detail).
   */
  apply(response: DiscoveryResponse): ApplyOutcome {
    const kind = kindByTypeUrl.get(response.typeUrl);
    const outcome = this.applyResponse(kind, response);
    this.options.metrics.configApplies.inc({ type: kind ?? 'unknown', result: outcome.ok ? 'ack' : 'nack' });
    return outcome;
  }

  private applyResponse(kind: ResourceKind | undefined, response: DiscoveryResponse): ApplyOutcome {
    if (kind === undefined) return { ok: false, kind, message: `unknown type_url "${response.typeUrl}"` };
    if (response.revision < this.held.revision) {
      return { ok: false, kind, message: `stale revision ${response.revision}, already at ${this.held.revision}` };
    }
    let update: ResourceUpdate;
    try {
      update = decodeResponse(kind, response);
    } catch (error) {
      return { ok: false, kind, message: CausewayError.from(error).message };
    }
    const problem = this.install([update], 'controller');
    if (update.kind === 'api') this.noteApiOutcome(update, problem);
    if (problem !== undefined) return { ok: false, kind, message: problem };
    return { ok: true, kind, revision: this.held.revision, upserts: update.upserts.size, removals: update.removals.length };
  }

  /** Remembers why API updates were rejected, until those APIs change again. */
  private noteApiOutcome(update: ResourceUpdate & { kind: 'api' }, problem: string | undefined): void {
    if (problem === undefined && this.rejectedApis.size === 0) return;
    for (const name of update.upserts.keys()) {
      if (problem === undefined) this.rejectedApis.delete(name);
      else this.rejectedApis.set(name, problem);
    }
    if (problem === undefined) for (const name of update.removals) this.rejectedApis.delete(name);
  }

  /**
   * Serves resources read from the cache (in place of what is held), checked with the
   * same rules as controller updates (the limits may have changed since it was written).
   * Returns the problem, if any.
   */
  restore(resources: Resources): string | undefined {
    const { revision } = resources;
    const gone = (kind: ResourceKind): string[] => [...this.held[kind].keys()].filter((name) => !resources[kind].has(name));
    // In dependency order (addOrder): clusters and zones before the APIs that use them.
    const updates: ResourceUpdate[] = [
      { kind: 'cluster', revision, upserts: resources.cluster, removals: gone('cluster') },
      { kind: 'zone', revision, upserts: resources.zone, removals: gone('zone') },
      { kind: 'api', revision, upserts: resources.api, removals: gone('api') },
    ];
    return this.install(updates, 'cache');
  }

  /** Reads the cache file, if configured, and serves it; false when there was nothing usable. */
  async loadCache(): Promise<boolean> {
    const cache = this.options.cache;
    if (cache === undefined) return false;
    const resources = await cache.load();
    if (resources === undefined) return false;
    const problem = this.restore(resources);
    if (problem !== undefined) {
      this.options.log.warn({ file: cache.file, problem }, 'the config cache does not validate; ignoring it');
      return false;
    }
    return true;
  }

  /** Validates updates (one per kind at most), then applies them together; returns the problem, if any. */
  private install(updates: readonly ResourceUpdate[], source: ConfigSource): string | undefined {
    const held = this.held;
    const problems = updateProblems(held, held.index, updates, this.options, this.rejectedApis);
    if (problems.length > 0) return problems.join('; ');
    const revision = updates.reduce((max, u) => (u.revision > max ? u.revision : max), held.revision);
    const dispatchers = this.dispatchers.changes();
    const health = this.health.changes();
    const ctx = { zone: this.options.zone, metrics: this.options.metrics, dispatchers, health, keySets: this.keySets };
    const planned = this.updater.plan(new PendingResources(held, updates), held.index.scope(updates), revision, ctx);
    if (!planned.ok) {
      this.track(this.dispatchers.abandon(dispatchers));
      return planned.problems.join('; ');
    }
    // From here on, one synchronous step: no request sees a half-applied update.
    for (const update of updates) held.apply(update);
    this.updater.commit(planned.plan, ctx);
    if (updates.some((u) => u.kind === 'zone')) this.zoneHopKeys = hopKeysOf(held.zone);
    this.health.commit(health);
    this.track(this.dispatchers.commit(dispatchers));
    this.adopt(source);
    return undefined;
  }

  private adopt(source: ConfigSource): void {
    this.configSource = source;
    this.options.metrics.appliedRevision.set(Number(this.held.revision));
    this.options.metrics.servingFromCache.set(source === 'cache' ? 1 : 0);
    // The cache writes the resources in force when it gets to it (newer updates included).
    if (source === 'controller') this.options.cache?.save(this.held);
  }

  private track(closing: Promise<void>): void {
    this.retiring.add(closing);
    void closing.finally(() => this.retiring.delete(closing));
  }

  /** Stops health checks, closes every upstream pool (after in-flight requests) and flushes the cache. */
  async close(): Promise<void> {
    await Promise.all([this.health.close(), this.dispatchers.close(), ...this.retiring, this.options.cache?.flush()]);
  }
}
