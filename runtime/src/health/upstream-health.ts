import type { Logger } from '@causeway/shared';
import type { RuntimeMetrics } from '../metrics.ts';
import type { ConnectorFactory } from '../upstreams/address-guard.ts';
import { addressDeniedReason, type LiveMember } from '../upstreams/member-state.ts';
import { DtcTracker, type DtcPlan, type TrackedDtc } from './dtc-tracker.ts';
import { HealthChecker } from './health-checker.ts';
import type { MemberPlan } from './member-plan.ts';
import { MemberTracker } from './member-tracker.ts';
import { defaultOutlierSettings, type OutlierSettings } from './outlier.ts';

/** What the outcome of each attempt on real traffic tells upstream health (outlier detection). */
export interface UpstreamObserver {
  memberSucceeded(member: LiveMember): void;
  memberFailed(member: LiveMember, failure: string): void;
  memberRefused(member: LiveMember): void;
  /** The member's address is denied: out at once, like a refusal, with that reason. */
  memberDenied(member: LiveMember): void;
  dtcRefused(target: TrackedDtc): void;
}

/** What a config build plans: members and clusters, and the DTC targets failover may use. */
export interface HealthPlan {
  readonly members: MemberPlan;
  readonly dtc: DtcPlan;
}

export interface UpstreamHealthOptions {
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  readonly random: () => number;
  readonly now: () => number;
  readonly outlier?: OutlierSettings;
  /** Called after a member changes state. */
  readonly onMemberChange?: () => void;
  /** Connects active checks (the upstream deny list applies to them too). */
  readonly connector?: ConnectorFactory;
}

/**
 * Everything about upstream health: member states (control plane, active checks,
 * outlier detection), DTC targets, and the checker that probes both.
 */
export class UpstreamHealth implements UpstreamObserver {
  readonly members: MemberTracker;
  readonly dtc: DtcTracker;
  private readonly checker: HealthChecker;

  constructor(options: UpstreamHealthOptions) {
    const { log, metrics, now } = options;
    this.members = new MemberTracker({
      log,
      metrics,
      now,
      outlier: options.outlier ?? defaultOutlierSettings,
      ...(options.onMemberChange && { onChange: options.onMemberChange }),
    });
    this.dtc = new DtcTracker({ log, metrics });
    this.checker = new HealthChecker({ log, random: options.random, ...(options.connector && { connector: options.connector }) });
  }

  /** A plan that declares every cluster, member and DTC target in use. */
  plan(): HealthPlan {
    return { members: this.members.plan(), dtc: this.dtc.plan() };
  }

  /** A plan of what one config update changes; the rest stays as it is. */
  changes(): HealthPlan {
    return { members: this.members.changes(), dtc: this.dtc.changes() };
  }

  /** Makes a plan current and starts, restarts or stops the active checks of what it touched. */
  commit(plan: HealthPlan): void {
    this.checker.update(this.members.commit(plan.members));
    this.checker.update(this.dtc.commit(plan.dtc));
  }

  memberSucceeded(member: LiveMember): void {
    this.members.succeeded(member);
  }

  memberFailed(member: LiveMember, failure: string): void {
    this.members.failed(member, failure);
  }

  memberRefused(member: LiveMember): void {
    this.members.refused(member);
  }

  memberDenied(member: LiveMember): void {
    this.members.refused(member, addressDeniedReason);
  }

  dtcRefused(target: TrackedDtc): void {
    this.dtc.refused(target);
  }

  async close(): Promise<void> {
    this.members.close();
    await this.checker.close();
  }
}
