import type { HealthCheck, MemberHealth } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { memberKey, type LiveMember } from '../upstreams/member-state.ts';
import { TrackedCluster, TrackedMember } from './tracked-member.ts';

/** A member as one config build declares it. */
export interface MemberDefinition {
  readonly cluster: string;
  readonly name: string;
  readonly url: string;
  readonly controlPlaneHealth: MemberHealth;
  readonly healthCheck: HealthCheck | undefined;
}

/** The members and clusters in force that a plan reuses (the MemberTracker). */
export interface MemberLookup {
  trackedMember(key: string): TrackedMember | undefined;
  trackedCluster(name: string): TrackedCluster | undefined;
}

export interface PlannedCluster {
  readonly tracked: TrackedCluster;
  /** By member key, in declaration order. */
  readonly members: Map<string, { readonly tracked: TrackedMember; readonly definition: MemberDefinition }>;
}

/**
 * The members and clusters a config build declares; nothing changes until `commit()`.
 * A complete plan declares everything (clusters it does not declare are dropped, and
 * only those it `use`s are in use); a plan of changes declares the clusters that change
 * (every member of each), those it removes, and those whose use changes.
 */
export class MemberPlan {
  private readonly owner: MemberLookup;
  readonly complete: boolean;
  readonly clusters = new Map<string, PlannedCluster>();
  readonly removed = new Set<string>();
  /** Whether a cluster is in use after the plan (complete plan: those not named are not). */
  readonly usage = new Map<string, boolean>();

  constructor(owner: MemberLookup, complete: boolean) {
    this.owner = owner;
    this.complete = complete;
  }

  /** Declares a cluster (its members follow); it is tracked across builds by name. */
  cluster(name: string): TrackedCluster {
    return this.plannedCluster(name).tracked;
  }

  private plannedCluster(name: string): PlannedCluster {
    let planned = this.clusters.get(name);
    if (planned === undefined) {
      planned = { tracked: this.owner.trackedCluster(name) ?? new TrackedCluster(name), members: new Map() };
      this.clusters.set(name, planned);
    }
    return planned;
  }

  /** A cluster as the plan leaves it, without declaring it. */
  trackedCluster(name: string): TrackedCluster | undefined {
    return this.clusters.get(name)?.tracked ?? (this.removed.has(name) ? undefined : this.owner.trackedCluster(name));
  }

  /** Marks whether an API routes to a cluster: its members are checked and reported only then. */
  use(name: string, inUse = true): void {
    this.usage.set(name, inUse);
  }

  /** Drops a cluster and its members (plan of changes). */
  remove(name: string): void {
    this.removed.add(name);
  }

  /** Declares a member; it is tracked across builds by cluster, name and URL. */
  member(definition: MemberDefinition): LiveMember {
    const key = memberKey(definition.cluster, definition.name, definition.url);
    const planned = this.plannedCluster(definition.cluster);
    const declared = planned.members.get(key);
    if (declared !== undefined) return declared.tracked;
    const tracked = this.owner.trackedMember(key) ?? new TrackedMember(key, planned.tracked, definition.name, definition.url);
    planned.members.set(key, { tracked, definition });
    return tracked;
  }
}
