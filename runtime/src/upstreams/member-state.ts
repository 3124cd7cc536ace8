/**
 * Whether a member may take requests. The control plane's verdict, active health checks
 * and outlier detection all feed it; the MemberTracker (health/member-tracker.ts) is
 * the one place that changes it.
 */
export type MemberState =
  | { readonly kind: 'healthy' }
  | { readonly kind: 'ejected'; readonly until: number }
  | { readonly kind: 'unhealthy'; readonly since: number; readonly reason: string };

/**
 * What routes hold of a member: its state and its requests in flight, shared by every
 * route that reaches it and kept across config updates (health/ tracks it as a TrackedMember).
 */
export interface LiveMember {
  readonly key: string;
  readonly state: MemberState;
  /** Requests in flight to this member, for least-request balancing. */
  activeRequests: number;
}

export const healthyState: MemberState = Object.freeze({ kind: 'healthy' });
export const controlPlaneReason = 'marked unhealthy by the control plane';
export const connectRefusedReason = 'connect refused';
/** The member's address is in the upstream deny list (`CAUSEWAY_UPSTREAM_DENY_CIDRS`). */
export const addressDeniedReason = 'address denied';

/** Identifies a member across config builds: same cluster, name and URL. */
export function memberKey(cluster: string, member: string, url: string): string {
  return `${cluster}\n${member}\n${url}`;
}

/** An ejection whose time has passed counts as over even before its timer fired. */
export function isUsable(state: MemberState, now: number): boolean {
  return state.kind === 'healthy' || (state.kind === 'ejected' && state.until <= now);
}
