import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Address, Logger } from '@causeway/shared';
import type { RuntimeMetrics } from '../metrics.ts';
import type { BackoffOptions } from './backoff.ts';
import type { ConfigTarget } from './config-target.ts';
import type { NodeIdentity } from './discovery-requests.ts';

export interface XdsClientOptions {
  readonly controllers: readonly Address[];
  readonly node: NodeIdentity;
  readonly target: ConfigTarget;
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  /** The credentials of the next connection; undefined: none yet (the client waits for `credentialsChanged`). Default plaintext. */
  readonly credentials?: () => ChannelCredentials | undefined;
  /** The controller did not accept this runtime's certificate (UNAUTHENTICATED). */
  readonly onCertificateRejected?: () => void;
  readonly backoff?: BackoffOptions;
  /** How long to wait before trying again after a controller denied this runtime access (PERMISSION_DENIED); default 5 min. */
  readonly refusedRetryMs?: number;
  /** Heartbeat report period; default 5 s. */
  readonly reportIntervalMs?: number;
  /**
   * A stream counts as established after its first response, or after it stayed open
   * this long once the connection was up (a controller with nothing new sends nothing;
   * one that refuses the runtime does so within milliseconds). Default 1 s.
   */
  readonly establishAfterMs?: number;
  readonly random?: () => number;
  /** Called when the client becomes connected or disconnected. */
  readonly onConnectionChange?: (connected: boolean) => void;
}
