import { CausewayError, schemaByKind, typeUrls, unpack, type ResourceKind } from '@causeway/shared';
import type { DiscoveryResponse } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import type { ResourceEntry, ResourceUpdate } from './resources.ts';

function rejected(message: string): CausewayError {
  return new CausewayError('invalid_argument', message);
}

function decodeEntries<K extends ResourceKind>(kind: K, response: DiscoveryResponse): Map<string, ResourceEntry<K>> {
  const schema = schemaByKind[kind];
  const entries = new Map<string, ResourceEntry<K>>();
  response.resources.forEach((resource, index) => {
    const where = `resources[${index}]`;
    if (resource.name === '') throw rejected(`${where}: name is empty`);
    if (entries.has(resource.name)) throw rejected(`${kind} "${resource.name}": sent twice in one response`);
    const any = resource.resource;
    if (any === undefined) throw rejected(`${kind} "${resource.name}": resource is missing`);
    if (any.typeUrl !== typeUrls[kind]) {
      throw rejected(`${kind} "${resource.name}": resource type "${any.typeUrl}" is not ${typeUrls[kind]}`);
    }
    let message;
    try {
      message = unpack(schema, any);
    } catch (error) {
      throw new CausewayError('invalid_argument', `${kind} "${resource.name}": resource does not decode (${String(error)})`, {
        cause: error,
      });
    }
    if (message === undefined) throw rejected(`${kind} "${resource.name}": resource does not decode as ${schema.typeName}`);
    entries.set(resource.name, { version: resource.version, message });
  });
  return entries;
}

/**
 * Turns a response into an update of one resource kind, unpacking every resource.
 * Throws a CausewayError (`invalid_argument`) naming the resource when one is malformed.
 */
export function decodeResponse(kind: ResourceKind, response: DiscoveryResponse): ResourceUpdate {
  const { revision } = response;
  const removals = [...new Set(response.removedResources)];
  let update: ResourceUpdate;
  switch (kind) {
    case 'cluster':
      update = { kind, revision, upserts: decodeEntries(kind, response), removals };
      break;
    case 'zone':
      update = { kind, revision, upserts: decodeEntries(kind, response), removals };
      break;
    case 'api':
      update = { kind, revision, upserts: decodeEntries(kind, response), removals };
      break;
  }
  for (const name of removals) {
    if (update.upserts.has(name)) throw rejected(`${kind} "${name}": both updated and removed in one response`);
  }
  return update;
}
