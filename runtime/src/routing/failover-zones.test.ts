import { describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { FailoverSchema } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { ResourceMap } from '../resources/resources.ts';
import { zone } from '../testing/resources.ts';
import { failoverZoneOrder } from './failover-zones.ts';

const zones: ResourceMap<'zone'> = new Map(
  [
    zone('eu-1', 'http://eu-1.example', { failoverPriority: 1 }),
    zone('eu-2', 'http://eu-2.example', { failoverPriority: 20 }),
    zone('eu-3', 'http://eu-3.example', { failoverPriority: 10 }),
    zone('eu-0', 'http://eu-0.example', { failoverPriority: 10 }),
    zone('eu-4', 'http://eu-4.example', { failoverPriority: 0, failoverEligible: false }),
    zone('eu-5', '', { failoverPriority: 0, failoverEligible: true }),
  ].map((z) => [z.name, { version: '1', message: z }]),
);

describe('failover zone order', () => {
  it('is empty without failover', () => {
    expect(failoverZoneOrder(undefined, zones, 'eu-1')).toEqual([]);
    expect(failoverZoneOrder(create(FailoverSchema, { enabled: false, zones: ['eu-2'] }), zones, 'eu-1')).toEqual([]);
  });

  it('takes eligible zones with a DTC URL by priority, then name, without its own zone', () => {
    expect(failoverZoneOrder(create(FailoverSchema, { enabled: true }), zones, 'eu-1')).toEqual(['eu-0', 'eu-3', 'eu-2']);
    expect(failoverZoneOrder(create(FailoverSchema, { enabled: true }), zones, 'eu-3')).toEqual(['eu-1', 'eu-0', 'eu-2']);
  });

  it('takes an explicit list as given, without its own zone, repeats or empty names', () => {
    const failover = create(FailoverSchema, { enabled: true, zones: ['eu-4', 'eu-1', 'eu-9', 'eu-4', '', 'eu-2'] });
    expect(failoverZoneOrder(failover, zones, 'eu-1')).toEqual(['eu-4', 'eu-9', 'eu-2']);
  });
});
