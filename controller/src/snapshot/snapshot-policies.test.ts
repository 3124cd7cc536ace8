import { describe, expect, it } from 'vitest';
import { checkPolicies, policiesSpecOf, unpack } from '@causeway/shared';
import { ApiSchema } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { validateDocument } from '../admin-api/validate.ts';
import type { Kind, StoredRecord } from '../store/records.ts';
import { modelFromRecords } from '../sync/model.ts';
import { buildSnapshot } from './build-snapshot.ts';

function record<K extends Kind>(doc: Record<string, unknown>, revision: number): StoredRecord<K> {
  const valid = validateDocument(doc);
  return { kind: valid.kind as K, org: 'default', name: valid.name, labels: valid.labels, spec: valid.spec as never, revision, createdAt: new Date(0), updatedAt: new Date(0) };
}

describe('policies in the snapshot', () => {
  it('sends an API its accepted policies as typed messages, and none when it has none', () => {
    const gateway = record({ kind: 'Gateway', metadata: { name: 'gw' }, spec: { url: 'http://10.0.0.1' } }, 1);
    const policies = {
      jwt: { issuers: [{ issuer: 'https://idp', jwksUri: 'https://idp/keys', audiences: ['orders'] }], forwardClaims: { sub: 'x-consumer-id' } },
      rateLimit: { requests: 10, per: 'minute', by: 'header:x-client' },
      ipAccess: { deny: ['10.0.0.0/8'] },
    };
    const guarded = record<'Api'>({ kind: 'Api', metadata: { name: 'orders' }, spec: { basePath: '/orders', upstream: { gateway: 'gw' }, policies } }, 2);
    const open = record<'Api'>({ kind: 'Api', metadata: { name: 'users' }, spec: { basePath: '/users', upstream: { gateway: 'gw' } } }, 3);
    const snapshot = buildSnapshot(modelFromRecords(3, [gateway, guarded, open]));
    const message = (name: string) => unpack(ApiSchema, snapshot.resources.api.get(name)!.resource);
    const sent = message('default/orders')?.policies;
    if (sent === undefined) throw new Error('the API was sent without its policies');
    expect(checkPolicies(policiesSpecOf(sent)).policies).toEqual(guarded.spec.policies);
    expect(message('default/users')).toBeDefined();
    expect(message('default/users')?.policies).toBeUndefined();
  });
});
