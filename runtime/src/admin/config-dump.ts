import { toJson, type JsonObject } from '@bufbuild/protobuf';
import { ApiSchema, MemberSchema, ZoneSchema, type Zone } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { MemberDescription } from '../health/member-tracker.ts';
import type { ConfigSource, Resources } from '../resources/resources.ts';

export interface ConfigDumpInput {
  readonly nodeId: string;
  readonly zone: string;
  readonly resources: Resources;
  readonly source: ConfigSource;
  /** The controller of the established stream, if any. */
  readonly controller: string | undefined;
  memberHealth(cluster: string, member: string, url: string): MemberDescription | undefined;
  /** The health of a zone's DTC URL, when some failover-enabled API may use it. */
  dtcHealth(zone: string): { readonly url: string; readonly healthy: boolean; readonly reason: string } | undefined;
}

const jsonOptions = { alwaysEmitImplicit: true } as const;

/** The hop key is a secret between runtimes: /config says whether a zone has one, never what it is. */
function zoneJson(message: Zone): JsonObject {
  const json = toJson(ZoneSchema, { ...message, hopKey: new Uint8Array() }, jsonOptions) as JsonObject;
  return { ...json, hopKey: message.hopKey.length > 0 ? '(redacted)' : '' };
}

/** The /config document: what this runtime serves, with the revision and where it came from. */
export function configDump(input: ConfigDumpInput): Record<string, unknown> {
  const { resources } = input;
  return {
    nodeId: input.nodeId,
    zone: input.zone,
    revision: resources.revision.toString(),
    source: input.source,
    controller: input.controller ?? null,
    apis: [...resources.api].map(([name, { version, message }]) => ({
      name,
      version,
      resource: toJson(ApiSchema, message, jsonOptions),
    })),
    clusters: [...resources.cluster].map(([name, { version, message }]) => ({
      name,
      version,
      members: message.members.map((member) => {
        const health = input.memberHealth(name, member.name, member.url);
        return { ...(toJson(MemberSchema, member, jsonOptions) as JsonObject), ...(health ?? { state: null }) };
      }),
    })),
    zones: [...resources.zone].map(([name, { version, message }]) => ({
      name,
      version,
      resource: zoneJson(message),
      dtc: input.dtcHealth(name) ?? null,
    })),
  };
}
