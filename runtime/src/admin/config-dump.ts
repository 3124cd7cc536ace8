import { toJson, type JsonObject } from '@bufbuild/protobuf';
import { ApiSchema, MemberSchema, ZoneSchema } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { ConfigSource } from '../state/config-store.ts';
import type { ResourceState } from '../state/resource-state.ts';
import type { MemberState } from '../upstreams/member-state.ts';

export interface ConfigDumpInput {
  readonly nodeId: string;
  readonly zone: string;
  readonly state: ResourceState;
  readonly source: ConfigSource;
  /** The controller of the established stream, if any. */
  readonly controller: string | undefined;
  memberState(cluster: string, member: string, url: string): MemberState | undefined;
}

const jsonOptions = { alwaysEmitImplicit: true } as const;

/** The /config document: what this runtime serves, with the revision and where it came from. */
export function configDump(input: ConfigDumpInput): Record<string, unknown> {
  const { state } = input;
  return {
    nodeId: input.nodeId,
    zone: input.zone,
    revision: state.revision.toString(),
    source: input.source,
    controller: input.controller ?? null,
    apis: [...state.resources.api].map(([name, { version, message }]) => ({
      name,
      version,
      resource: toJson(ApiSchema, message, jsonOptions),
    })),
    clusters: [...state.resources.cluster].map(([name, { version, message }]) => ({
      name,
      version,
      members: message.members.map((member) => ({
        ...(toJson(MemberSchema, member, jsonOptions) as JsonObject),
        state: input.memberState(name, member.name, member.url) ?? null,
      })),
    })),
    zones: [...state.resources.zone].map(([name, { version, message }]) => ({
      name,
      version,
      resource: toJson(ZoneSchema, message, jsonOptions),
    })),
  };
}
