import { MemberHealth } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';

/**
 * Whether a member may take requests. Today only the control plane's verdict sets it;
 * active health checks (unhealthy) and outlier detection (ejected) will go through
 * `MemberStates.transition` as well.
 */
export type MemberState =
  | { readonly kind: 'healthy' }
  | { readonly kind: 'ejected'; readonly until: number }
  | { readonly kind: 'unhealthy'; readonly since: number; readonly reason: string };

/** The live part of a member, shared by every config build that contains it. */
export interface MemberLiveState {
  readonly key: string;
  readonly state: MemberState;
  /** Requests in flight to this member, for least-request balancing. */
  activeRequests: number;
}

interface Cell {
  readonly key: string;
  state: MemberState;
  activeRequests: number;
}

const healthy: MemberState = Object.freeze({ kind: 'healthy' });
export const controlPlaneReason = 'marked unhealthy by the control plane';

/** Identifies a member across config builds: same cluster, name and URL. */
export function memberKey(cluster: string, member: string, url: string): string {
  return `${cluster}\n${member}\n${url}`;
}

export function isUsable(state: MemberState, now: number): boolean {
  return state.kind === 'healthy' || (state.kind === 'ejected' && state.until <= now);
}

/** The state a member should have once the control plane's verdict is applied. */
function afterControlPlane(current: MemberState, health: MemberHealth, now: number): MemberState {
  if (health === MemberHealth.UNHEALTHY) {
    return current.kind === 'unhealthy' ? current : { kind: 'unhealthy', since: now, reason: controlPlaneReason };
  }
  return current.kind === 'unhealthy' && current.reason === controlPlaneReason ? healthy : current;
}

/** The member states a config build wants; nothing changes until `commit()`. */
export class MemberStatePlan {
  private readonly owner: MemberStates;
  private readonly now: number;
  readonly cells = new Map<string, { readonly cell: Cell; readonly next: MemberState }>();

  constructor(owner: MemberStates, now: number) {
    this.owner = owner;
    this.now = now;
  }

  /** The live state of member `key` in the config being built. */
  member(key: string, health: MemberHealth): MemberLiveState {
    const planned = this.cells.get(key);
    if (planned !== undefined) return planned.cell;
    const cell = this.owner.cell(key) ?? { key, state: healthy, activeRequests: 0 };
    this.cells.set(key, { cell, next: afterControlPlane(cell.state, health, this.now) });
    return cell;
  }

  commit(): void {
    this.owner.commit(this);
  }
}

/**
 * The state of every member, by `memberKey()`. Members keep their state (and
 * in-flight count) across config updates that leave them in place.
 */
export class MemberStates {
  private cells = new Map<string, Cell>();

  plan(now: number): MemberStatePlan {
    return new MemberStatePlan(this, now);
  }

  cell(key: string): Cell | undefined {
    return this.cells.get(key);
  }

  state(key: string): MemberState | undefined {
    return this.cells.get(key)?.state;
  }

  /** The one place where a member's state changes. */
  private transition(cell: Cell, next: MemberState): void {
    if (cell.state !== next) cell.state = next;
  }

  /** Makes a plan's states current and forgets members it does not contain. */
  commit(plan: MemberStatePlan): void {
    const cells = new Map<string, Cell>();
    for (const [key, { cell, next }] of plan.cells) {
      this.transition(cell, next);
      cells.set(key, cell);
    }
    this.cells = cells;
  }
}
