import { describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { unpack } from '@causeway/shared';
import { ApiSchema } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { DiscoveryResponseSchema } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import { validateDocument } from '../admin-api/validate.ts';
import type { StoredRecord } from '../store/records.ts';
import { modelFromRecords } from '../sync/model.ts';
import { buildSnapshot } from '../snapshot/build-snapshot.ts';
import { encodeResponse } from './encode-response.ts';

function record(doc: Record<string, unknown>, revision: number): StoredRecord {
  const valid = validateDocument(doc);
  return { kind: valid.kind, org: 'default', name: valid.name, labels: valid.labels, spec: valid.spec as never, revision, createdAt: new Date(0), updatedAt: new Date(0) } as StoredRecord;
}

describe('encodeResponse', () => {
  const model = modelFromRecords(3, [
    record({ kind: 'Gateway', metadata: { name: 'gw' }, spec: { url: 'http://10.0.0.1:80' } }, 1),
    record({ kind: 'Api', metadata: { name: 'orders' }, spec: { basePath: '/orders', upstream: { gateway: 'gw' } } }, 2),
    record({ kind: 'Api', metadata: { name: 'users' }, spec: { basePath: '/users', upstream: { gateway: 'gw' } } }, 3),
  ]);
  const apis = [...buildSnapshot(model).resources.api.values()];
  const head = {
    revision: 3n,
    typeUrl: 'type.googleapis.com/causeway.config.v1.Api',
    removedResources: ['default/gone'],
    nonce: 'n1',
    controllerId: 'c1',
    databaseRevision: 4n,
  };

  it('decodes as the response a runtime would get from encoding the whole message', () => {
    const bytes = encodeResponse(head, apis);
    const decoded = fromBinary(DiscoveryResponseSchema, bytes);
    const whole = create(DiscoveryResponseSchema, { ...head, resources: apis.map((e) => ({ name: e.name, version: e.version, resource: e.resource })) });
    expect(decoded).toEqual(fromBinary(DiscoveryResponseSchema, toBinary(DiscoveryResponseSchema, whole)));
    expect(decoded.resources.map((r) => r.resource && unpack(ApiSchema, r.resource)?.basePath)).toEqual(['/orders', '/users']);
  });

  it('encodes a response without resources', () => {
    expect(fromBinary(DiscoveryResponseSchema, encodeResponse(head, []))).toMatchObject({ ...head, resources: [] });
  });
});
