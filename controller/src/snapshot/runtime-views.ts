import type { Snapshot } from './build-snapshot.ts';
import type { ApiTarget, ResourceSet, SnapshotEntry } from './snapshot-entry.ts';

/** What decides the config a runtime receives: the org it serves (null: every org) and its labels. */
export interface RuntimeAudience {
  readonly org: string | null;
  readonly labels: Readonly<Record<string, string>>;
}

/** The part of the snapshot one runtime receives; read it synchronously (it is updated in place). */
export interface SnapshotView {
  current(): Snapshot | undefined;
  /** The runtime's stream ended. */
  release(): void;
}

/** Whether a runtime serves an API: it serves the API's org (or every org) and has every label the API selects. */
function serves(runtime: RuntimeAudience, target: ApiTarget): boolean {
  if (runtime.org !== null && runtime.org !== target.org) return false;
  for (const key in target.matchLabels) if (runtime.labels[key] !== target.matchLabels[key]) return false;
  return true;
}

function audienceKey(runtime: RuntimeAudience): string {
  const labels = Object.entries(runtime.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([runtime.org, labels]);
}

function count(users: Map<string, number>, name: string, delta: number): void {
  const n = (users.get(name) ?? 0) + delta;
  if (n > 0) users.set(name, n);
  else users.delete(name);
}

/**
 * The snapshot as the runtimes of one audience receive it: the APIs they serve, the
 * clusters those use, and every zone (zones describe the deployment, not a tenant, and
 * carry the hop key every runtime checks). Its maps are changed in place from one
 * snapshot to the next, at the cost of what changed.
 */
class AudienceView {
  readonly audience: RuntimeAudience;
  users = 0;
  snapshot: Snapshot | undefined;
  private readonly apis = new Map<string, SnapshotEntry>();
  private readonly clusters = new Map<string, SnapshotEntry>();
  private readonly clusterUsers = new Map<string, number>();

  constructor(audience: RuntimeAudience) {
    this.audience = audience;
  }

  /** Follows the global snapshot: from the names it says changed when this view holds its base, else in full. */
  advance(next: Snapshot): void {
    const previous = this.snapshot;
    if (previous === undefined || next.base === undefined || next.base.revision !== previous.revision) this.rebuild(next);
    else this.follow(next, previous, next.base.changed);
  }

  private take(entry: SnapshotEntry | undefined): SnapshotEntry | undefined {
    return entry?.target !== undefined && serves(this.audience, entry.target) ? entry : undefined;
  }

  private follow(next: Snapshot, previous: Snapshot, changed: NonNullable<Snapshot['base']>['changed']): void {
    const changedApis = new Set<string>();
    const touched = new Set<string>(changed.cluster);
    for (const name of changed.api) {
      const before = this.apis.get(name);
      const after = this.take(next.resources.api.get(name));
      if (before === after) continue;
      changedApis.add(name);
      if (before?.target !== undefined) {
        count(this.clusterUsers, before.target.cluster, -1);
        touched.add(before.target.cluster);
      }
      if (after?.target === undefined) {
        this.apis.delete(name);
        continue;
      }
      this.apis.set(name, after);
      count(this.clusterUsers, after.target.cluster, +1);
      touched.add(after.target.cluster);
    }
    const changedClusters = new Set<string>();
    for (const name of touched) {
      const wanted = this.clusterUsers.has(name) ? next.resources.cluster.get(name) : undefined;
      if (this.clusters.get(name) === wanted) continue;
      changedClusters.add(name);
      if (wanted === undefined) this.clusters.delete(name);
      else this.clusters.set(name, wanted);
    }
    this.publish(next, { revision: previous.revision, changed: { api: changedApis, cluster: changedClusters, zone: changed.zone } });
  }

  private rebuild(next: Snapshot): void {
    const before = { api: new Map(this.apis), cluster: new Map(this.clusters) };
    this.apis.clear();
    this.clusters.clear();
    this.clusterUsers.clear();
    for (const entry of next.resources.api.values()) {
      if (this.take(entry)?.target === undefined) continue;
      this.apis.set(entry.name, entry);
      count(this.clusterUsers, entry.target?.cluster ?? '', +1);
    }
    for (const name of this.clusterUsers.keys()) {
      const cluster = next.resources.cluster.get(name);
      if (cluster !== undefined) this.clusters.set(name, cluster);
    }
    const previous = this.snapshot;
    if (previous === undefined) {
      this.publish(next, undefined);
      return;
    }
    const differs = (a: ResourceSet, b: ResourceSet): Set<string> => new Set([...a.keys(), ...b.keys()].filter((name) => a.get(name) !== b.get(name)));
    const zones = differs(previous.resources.zone, next.resources.zone);
    this.publish(next, { revision: previous.revision, changed: { api: differs(before.api, this.apis), cluster: differs(before.cluster, this.clusters), zone: zones } });
  }

  private publish(next: Snapshot, base: Snapshot['base']): void {
    const resources = { api: this.apis, cluster: this.clusters, zone: next.resources.zone };
    this.snapshot = base === undefined ? { revision: next.revision, resources, clusterUsers: this.clusterUsers } : { revision: next.revision, resources, base, clusterUsers: this.clusterUsers };
  }
}

/**
 * Per-audience views of the published snapshot, one for all the runtimes that serve the
 * same org with the same labels, made when the first of them connects and dropped when
 * the last one leaves. A change costs what it touches times the audiences connected, not
 * the whole config times the runtimes.
 */
export class RuntimeViews {
  private readonly views = new Map<string, AudienceView>();
  private latest: Snapshot | undefined;

  get audiences(): number {
    return this.views.size;
  }

  view(audience: RuntimeAudience): SnapshotView {
    const key = audienceKey(audience);
    let view = this.views.get(key);
    if (view === undefined) {
      view = new AudienceView(audience);
      if (this.latest !== undefined) view.advance(this.latest);
      this.views.set(key, view);
    }
    view.users++;
    const held = view;
    let released = false;
    return {
      current: () => held.snapshot,
      release: () => {
        if (released) return;
        released = true;
        if (--held.users === 0 && this.views.get(key) === held) this.views.delete(key);
      },
    };
  }

  /** A new snapshot is published: every view follows it. */
  update(snapshot: Snapshot): void {
    this.latest = snapshot;
    for (const view of this.views.values()) view.advance(snapshot);
  }
}
