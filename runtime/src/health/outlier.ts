/**
 * Passive outlier detection on real traffic (Envoy's consecutive gateway failures):
 * the numbers and the pure rules. The MemberTracker applies them.
 */
export interface OutlierSettings {
  /** Consecutive failed attempts (connect failures, resets, timeouts, 502/503/504) that eject a member. */
  readonly consecutiveFailures: number;
  /** The first ejection lasts this long; the n-th lasts n times as long. */
  readonly baseEjectionMs: number;
  /** No ejection lasts longer. */
  readonly maxEjectionMs: number;
  /** At most this share of a cluster's members may be ejected by outlier detection at once. */
  readonly maxEjectionPercent: number;
}

export const defaultOutlierSettings: OutlierSettings = Object.freeze({
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 50,
});

/** How long the `ejections`-th ejection (counting from 1) lasts. */
export function ejectionMs(settings: OutlierSettings, ejections: number): number {
  return Math.min(settings.baseEjectionMs * Math.max(1, ejections), settings.maxEjectionMs);
}

/**
 * The ejection count a member carries into its next ejection: one is forgiven for every
 * base ejection time it stayed in service since the last one ended.
 */
export function decayedEjections(settings: OutlierSettings, ejections: number, lastEjectionEnd: number, now: number): number {
  if (ejections === 0 || lastEjectionEnd === 0) return ejections;
  const forgiven = Math.floor(Math.max(0, now - lastEjectionEnd) / settings.baseEjectionMs);
  return Math.max(0, ejections - forgiven);
}

/**
 * Whether one more member of a cluster may be ejected: the ejected share stays within
 * the maximum afterwards, and at least one other member stays usable.
 */
export function ejectionAllowed(settings: OutlierSettings, members: number, ejected: number, usableOthers: number): boolean {
  if (usableOthers === 0) return false;
  return (ejected + 1) * 100 <= settings.maxEjectionPercent * members;
}
