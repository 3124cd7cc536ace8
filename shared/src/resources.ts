import { anyPack, anyUnpack, type Any } from '@bufbuild/protobuf/wkt';
import { create, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { ApiSchema, ClusterSchema, ZoneSchema } from './gen/causeway/config/v1/config_pb.js';

/** The protocol major version this build speaks; runtimes with another one are refused. */
export const PROTOCOL_VERSION = 1;
export const SOFTWARE_VERSION = '0.1.0';

export const typeUrls = {
  cluster: `type.googleapis.com/${ClusterSchema.typeName}`,
  zone: `type.googleapis.com/${ZoneSchema.typeName}`,
  api: `type.googleapis.com/${ApiSchema.typeName}`,
} as const;

export type ResourceKind = keyof typeof typeUrls;

/** Make before break: what others reference is added first and removed last. */
export const addOrder: readonly ResourceKind[] = ['cluster', 'zone', 'api'];
export const removeOrder: readonly ResourceKind[] = ['api', 'zone', 'cluster'];

export const kindByTypeUrl: ReadonlyMap<string, ResourceKind> = new Map(
  Object.entries(typeUrls).map(([kind, url]) => [url, kind as ResourceKind]),
);

export const schemaByKind = { cluster: ClusterSchema, zone: ZoneSchema, api: ApiSchema } as const;

export function pack<T extends DescMessage>(schema: T, message: MessageShape<T>): Any {
  return anyPack(schema, message);
}

export function unpack<T extends DescMessage>(schema: T, any: Any): MessageShape<T> | undefined {
  return anyUnpack(any, schema);
}

export { create };
