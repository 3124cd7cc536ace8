import { describe, expect, it } from 'vitest';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { create } from '@bufbuild/protobuf';
import { ZoneSchema } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { SnapshotEntry } from '../snapshot/snapshot-entry.ts';
import { computeDelta, computeDeltaOf } from './delta.ts';

const entry = (name: string, version: string): SnapshotEntry => ({ name, version, resource: anyPack(ZoneSchema, create(ZoneSchema, { name })), encoded: new Uint8Array() });

describe('computeDelta', () => {
  const desired = new Map([['a', entry('a', '3')], ['b', entry('b', '5')], ['c', entry('c', '7')]]);

  it('sends everything to a runtime that holds nothing', () => {
    const delta = computeDelta(new Map(), desired);
    expect(delta.upserts.map((e) => e.name)).toEqual(['a', 'b', 'c']);
    expect(delta.removals).toEqual([]);
  });

  it('sends only changed and new resources, and the names of removed ones', () => {
    const delta = computeDelta(new Map([['a', '3'], ['b', '4'], ['gone', '1']]), desired);
    expect(delta.upserts.map((e) => `${e.name}@${e.version}`)).toEqual(['b@5', 'c@7']);
    expect(delta.removals).toEqual(['gone']);
  });

  it('sends nothing when the runtime is up to date', () => {
    expect(computeDelta(new Map([['a', '3'], ['b', '5'], ['c', '7']]), desired)).toEqual({ upserts: [], removals: [] });
  });
});

describe('computeDeltaOf', () => {
  const desired = new Map([['a', entry('a', '3')], ['b', entry('b', '6')]]);

  it('looks only at the names that changed, and agrees with a full comparison on them', () => {
    const known = new Map([['a', '3'], ['b', '5'], ['gone', '1'], ['stale-but-unlisted', '1']]);
    const delta = computeDeltaOf(known, desired, new Set(['b', 'gone', 'never-held']));
    expect(delta.upserts.map((e) => `${e.name}@${e.version}`)).toEqual(['b@6']);
    expect(delta.removals).toEqual(['gone']);
  });
});
