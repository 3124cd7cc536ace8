import type { ResourceKind } from '@causeway/shared';

/**
 * Who a runtime is: over mTLS, what its client certificate says (its request may claim
 * nothing else); without TLS, what its first request says (checked by request-limits).
 */
export interface RuntimeIdentity {
  readonly nodeId: string;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly version: string;
  /** The org it serves; null: every org (a shared runtime, or one streaming without TLS). */
  readonly org: string | null;
  /** The client certificate it streams with; undefined without TLS. */
  readonly certificate: { readonly serial: string; readonly notAfter: Date } | undefined;
}

/** One stream of a runtime. A runtime may have several over time; the newest one speaks for it. */
export interface RuntimeStream {
  readonly nodeId: string;
  /** Unique per replica and node id: tells a runtime's streams apart. */
  readonly connectedAt: Date;
}

/** What a runtime's health checks see of one member (gateway) of one of its clusters. */
export interface MemberHealthReport {
  readonly cluster: string;
  readonly member: string;
  readonly healthy: boolean;
  readonly reason: string;
}

/**
 * What the xDS server tells of its streams, as they happen. Calls never wait and never
 * fail a stream: whoever records them does so in the background. Only the stream that
 * speaks for a runtime (the newest) is reported closed.
 */
export interface StreamCallbacks {
  /** A runtime identified itself on a new stream; `appliedRevision` is what it already holds. */
  onStreamOpen(stream: RuntimeStream, identity: RuntimeIdentity, appliedRevision: number): void;
  /** A runtime's report: the revision it applied and, when it changed, what its health checks see. */
  onReport(stream: RuntimeStream, appliedRevision: number, members: readonly MemberHealthReport[]): void;
  /** The runtime applied a response of `kind` sent at `revision` (ACK). */
  onAck(stream: RuntimeStream, kind: ResourceKind, revision: number): void;
  /** Every API response up to `revision` was answered: applied, or rejected resource by resource. */
  onApiSettled(stream: RuntimeStream, revision: number): void;
  /** The runtime rejected a response (NACK) and kept what it had; `message` is bounded. */
  onNack(stream: RuntimeStream, kind: ResourceKind, revision: number, message: string): void;
  /** One resource's version (or its removal) was rejected: it is not sent again until it changes. */
  onResourceRejected(stream: RuntimeStream, rejection: ResourceRejection): void;
  /** The stream that spoke for its runtime ended. */
  onStreamClose(stream: RuntimeStream): void;
}

export interface ResourceRejection {
  readonly kind: ResourceKind;
  readonly name: string;
  /** The version rejected (a removal: the revision of the response that removed it). */
  readonly version: number;
  readonly message: string;
}
