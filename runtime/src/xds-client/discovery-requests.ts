import { create } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { addOrder, PROTOCOL_VERSION, SOFTWARE_VERSION, typeUrls } from '@causeway/shared';
import { DiscoveryRequestSchema, type DiscoveryRequest } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import type { MemberReport } from '../health/member-tracker.ts';
import type { ConfigTarget } from './config-target.ts';

export interface NodeIdentity {
  readonly id: string;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The requests that open a stream: one per type, clusters first; the first one says who this runtime is. */
export function subscriptions(node: NodeIdentity, target: ConfigTarget): DiscoveryRequest[] {
  return addOrder.map((kind, i) => {
    const subscription = {
      typeUrl: typeUrls[kind],
      initialResourceVersions: target.versions(kind),
      appliedRevision: target.revision,
    };
    const identity = {
      id: node.id,
      zone: node.zone,
      labels: { ...node.labels },
      version: SOFTWARE_VERSION,
      protocolVersion: PROTOCOL_VERSION,
    };
    return create(DiscoveryRequestSchema, i === 0 ? { ...subscription, node: identity } : subscription);
  });
}

export function ackRequest(typeUrl: string, nonce: string, appliedRevision: bigint): DiscoveryRequest {
  return create(DiscoveryRequestSchema, { typeUrl, responseNonce: nonce, appliedRevision });
}

export function nackRequest(typeUrl: string, nonce: string, appliedRevision: bigint, message: string): DiscoveryRequest {
  return create(DiscoveryRequestSchema, {
    typeUrl,
    responseNonce: nonce,
    appliedRevision,
    errorDetail: { code: GrpcStatus.INVALID_ARGUMENT, message },
  });
}

export function reportRequest(appliedRevision: bigint, members: MemberReport[]): DiscoveryRequest {
  return create(DiscoveryRequestSchema, { typeUrl: '', appliedRevision, report: { appliedRevision, sentAt: timestampNow(), members } });
}

/** The (cluster, member) pairs of a report, to tell when they change. */
export function memberSignature(members: readonly MemberReport[]): string {
  return members.map((m) => `${m.cluster}\u0000${m.member}`).join('\u0001');
}
