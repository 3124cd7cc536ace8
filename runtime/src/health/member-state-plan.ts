import type { HealthCheck, MemberHealth } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { memberKey, type MemberLiveState } from '../upstreams/member-state.ts';
import { ClusterState, MemberCell } from './member-cell.ts';

/** A member as one config build declares it. */
export interface MemberDefinition {
  readonly cluster: string;
  readonly name: string;
  readonly url: string;
  readonly controlPlaneHealth: MemberHealth;
  readonly healthCheck: HealthCheck | undefined;
}

/** The states in force that a plan reuses (MemberStates). */
export interface MemberLookup {
  cell(key: string): MemberCell | undefined;
  clusterState(name: string): ClusterState | undefined;
}

export interface PlannedCluster {
  readonly state: ClusterState;
  /** By member key, in declaration order. */
  readonly members: Map<string, { readonly cell: MemberCell; readonly definition: MemberDefinition }>;
}

/**
 * The members and clusters a config build declares; nothing changes until `commit()`.
 * A complete plan declares everything (clusters it does not declare are dropped, and
 * only those it `use`s are in use); a plan of changes declares the clusters that change
 * (every member of each), those it removes, and those whose use changes.
 */
export class MemberStatePlan {
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

  /** Declares a cluster (its members follow); its live state is kept across builds by name. */
  cluster(name: string): ClusterState {
    return this.plannedCluster(name).state;
  }

  private plannedCluster(name: string): PlannedCluster {
    let planned = this.clusters.get(name);
    if (planned === undefined) {
      planned = { state: this.owner.clusterState(name) ?? new ClusterState(name), members: new Map() };
      this.clusters.set(name, planned);
    }
    return planned;
  }

  /** The live state of a cluster as the plan leaves it, without declaring it. */
  clusterState(name: string): ClusterState | undefined {
    return this.clusters.get(name)?.state ?? (this.removed.has(name) ? undefined : this.owner.clusterState(name));
  }

  /** Marks whether an API routes to a cluster: its members are checked and reported only then. */
  use(name: string, inUse = true): void {
    this.usage.set(name, inUse);
  }

  /** Drops a cluster and its members (plan of changes). */
  remove(name: string): void {
    this.removed.add(name);
  }

  /** Declares a member; its live state is kept across builds by cluster, name and URL. */
  member(definition: MemberDefinition): MemberLiveState {
    const key = memberKey(definition.cluster, definition.name, definition.url);
    const planned = this.plannedCluster(definition.cluster);
    const declared = planned.members.get(key);
    if (declared !== undefined) return declared.cell;
    const cell = this.owner.cell(key) ?? new MemberCell(key, planned.state, definition.name, definition.url);
    planned.members.set(key, { cell, definition });
    return cell;
  }
}
