import { formatAddress, SOFTWARE_VERSION, type Address, type Logger } from '@causeway/shared';
import type { ControllerMetrics } from './metrics.ts';
import { recordControllerHeartbeat } from './store/controllers.ts';
import type { Sql } from './store/database.ts';

const HEARTBEAT_INTERVAL_MS = 5_000;
/** A replica whose last heartbeat is older than this (three beats missed) is listed as not alive. */
export const CONTROLLER_ALIVE_MS = 3 * HEARTBEAT_INTERVAL_MS;

/** What a heartbeat says of this replica. */
interface ReplicaState {
  readonly adminAddress: Address;
  readonly xdsAddress: Address;
  readonly appliedRevision: number;
  readonly connectedRuntimes: number;
}

export interface ControllerHeartbeatOptions {
  readonly sql: Sql;
  readonly controllerId: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly state: () => ReplicaState;
}

/** Keeps this replica's row in `controllers` fresh (`GET /v1/controllers` lists the rows). */
export class ControllerHeartbeat {
  private readonly options: ControllerHeartbeatOptions;
  private readonly startedAt = new Date();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: ControllerHeartbeatOptions) {
    this.options = options;
  }

  /** Writes the first beat (a failure fails the start), then one every few seconds. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      this.beat().catch((error: unknown) => {
        this.options.metrics.databaseErrors.inc({ operation: 'controller_heartbeat' });
        this.options.log.warn({ err: error }, 'controller heartbeat failed');
      });
    }, HEARTBEAT_INTERVAL_MS);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    const state = this.options.state();
    await recordControllerHeartbeat(this.options.sql, {
      id: this.options.controllerId,
      adminAddress: formatAddress(state.adminAddress),
      xdsAddress: formatAddress(state.xdsAddress),
      version: SOFTWARE_VERSION,
      startedAt: this.startedAt,
      appliedRevision: state.appliedRevision,
      connectedRuntimes: state.connectedRuntimes,
    });
  }
}
