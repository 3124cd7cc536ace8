import { create, fromBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger, kindByTypeUrl, PROTOCOL_VERSION, typeUrls, type ResourceKind } from '@causeway/shared';
import {
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DiscoveryResponse,
} from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import { validateDocument } from '../admin-api/validate.ts';
import { createControllerMetrics } from '../metrics.ts';
import { buildSnapshot, type Snapshot } from '../snapshot/build-snapshot.ts';
import type { StoredRecord } from '../store/records.ts';
import { modelFromRecords } from '../sync/model.ts';
import type { SnapshotView } from '../snapshot/runtime-views.ts';
import type { SnapshotSource } from './snapshot-source.ts';
import type { ResourceRejection, RuntimeIdentity, RuntimeStream, StreamCallbacks } from './stream-callbacks.ts';
import { StreamSession, type SessionCall } from './stream-session.ts';

const silent = createLogger('test', { level: 'silent' });

function record(doc: Record<string, unknown>, revision: number): StoredRecord {
  const valid = validateDocument(doc);
  const at = new Date(revision);
  return { kind: valid.kind, org: valid.kind === 'Zone' ? '' : 'default', name: valid.name, labels: valid.labels, spec: valid.spec, revision, createdAt: at, updatedAt: at };
}

const gateway = (name: string, revision: number) => record({ kind: 'Gateway', metadata: { name }, spec: { url: `http://${name}.internal` } }, revision);
const api = (name: string, revision: number, upstream: string, requestMs = 15_000) =>
  record({ kind: 'Api', metadata: { name }, spec: { basePath: `/${name}`, upstream: { gateway: upstream }, timeouts: { requestMs } } }, revision);
const zone = (name: string, revision: number) => record({ kind: 'Zone', metadata: { name }, spec: { dtcUrl: `http://${name}.example` } }, revision);

/** The snapshot controllers publish at `revision`, built on `previous` (as the publisher does). */
function snapshotOf(revision: number, records: readonly StoredRecord[], previous?: Snapshot): Snapshot {
  return buildSnapshot(modelFromRecords(revision, records), previous);
}

/** Responses as the session wrote them, decoded; and the status it ended the stream with. */
class FakeCall implements SessionCall {
  readonly written: DiscoveryResponse[] = [];
  status: { code: number; details: string } | undefined;

  write(message: Uint8Array): boolean {
    this.written.push(fromBinary(DiscoveryResponseSchema, message));
    return true;
  }

  emit(_event: 'error', status: { code: number; details: string }): boolean {
    this.status = status;
    return true;
  }
}

class FakeSource implements SnapshotSource {
  snapshot: Snapshot | undefined;
  newerRequested = 0;

  view(): SnapshotView {
    return { current: () => this.snapshot, release: () => undefined };
  }

  databaseRevision(): number {
    return this.snapshot?.revision ?? 0;
  }

  committedAt(): number | undefined {
    return undefined;
  }

  requestNewer(): void {
    this.newerRequested++;
  }
}

/** Every callback, as a line: what the session reported of its stream. */
class RecordedCallbacks implements StreamCallbacks {
  readonly lines: string[] = [];

  onStreamOpen(stream: RuntimeStream, identity: RuntimeIdentity, appliedRevision: number): void {
    this.lines.push(`open ${stream.nodeId} zone=${identity.zone} applied=${appliedRevision}`);
  }

  onReport(stream: RuntimeStream, appliedRevision: number): void {
    this.lines.push(`report ${stream.nodeId} applied=${appliedRevision}`);
  }

  onAck(_stream: RuntimeStream, kind: ResourceKind, revision: number): void {
    this.lines.push(`ack ${kind} r${revision}`);
  }

  onApiSettled(_stream: RuntimeStream, revision: number): void {
    this.lines.push(`api settled r${revision}`);
  }

  onNack(_stream: RuntimeStream, kind: ResourceKind, revision: number, message: string): void {
    this.lines.push(`nack ${kind} r${revision}: ${message}`);
  }

  onResourceRejected(_stream: RuntimeStream, rejection: ResourceRejection): void {
    this.lines.push(`rejected ${rejection.kind} ${rejection.name}@${rejection.version}`);
  }

  onStreamClose(stream: RuntimeStream): void {
    this.lines.push(`close ${stream.nodeId}`);
  }

  take(): string[] {
    return this.lines.splice(0);
  }
}

/** One response as a line: type, revision, resources sent (+name@version) and removed (-name). */
function line(response: DiscoveryResponse): string {
  const kind = kindByTypeUrl.get(response.typeUrl) ?? response.typeUrl;
  const parts = [`${kind} r${response.revision}`, ...response.resources.map((r) => `+${r.name}@${r.version}`), ...response.removedResources.map((n) => `-${n}`)];
  return parts.join(' ');
}

describe('StreamSession', () => {
  let source: FakeSource;
  let callbacks: RecordedCallbacks;
  let call: FakeCall;
  let session: StreamSession;

  const send = (request: MessageInitShape<typeof DiscoveryRequestSchema>): void => session.handle(create(DiscoveryRequestSchema, request));
  /** The responses written since the last look. */
  const sent = (): DiscoveryResponse[] => call.written.splice(0);
  const ack = (response: DiscoveryResponse): void => send({ typeUrl: response.typeUrl, responseNonce: response.nonce });
  const nack = (response: DiscoveryResponse, message: string): void => send({ typeUrl: response.typeUrl, responseNonce: response.nonce, errorDetail: { message } });
  const ackAll = (responses: readonly DiscoveryResponse[]): void => responses.forEach(ack);

  /** Opens the stream as a runtime does: identity and the cluster subscription, then zones and APIs. */
  function connect(options: { applied?: number; holds?: Partial<Record<ResourceKind, Record<string, string>>> } = {}): void {
    send({
      node: { id: 'rt-1', zone: 'eu-1', version: '0.1.0', protocolVersion: PROTOCOL_VERSION },
      appliedRevision: BigInt(options.applied ?? 0),
      typeUrl: typeUrls.cluster,
      initialResourceVersions: options.holds?.cluster ?? {},
    });
    send({ typeUrl: typeUrls.zone, initialResourceVersions: options.holds?.zone ?? {} });
    send({ typeUrl: typeUrls.api, initialResourceVersions: options.holds?.api ?? {} });
  }

  function publish(snapshot: Snapshot): void {
    source.snapshot = snapshot;
    session.push();
  }

  beforeEach(() => {
    source = new FakeSource();
    callbacks = new RecordedCallbacks();
    call = new FakeCall();
    session = new StreamSession(
      call,
      { controllerId: 'test', log: silent, metrics: createControllerMetrics(), source, callbacks, claim: () => undefined, release: () => true, refusal: () => undefined },
      new Date(1_000),
    );
  });

  it('sends everything once every type is subscribed, clusters before zones before APIs', () => {
    source.snapshot = snapshotOf(4, [gateway('gw-a', 1), zone('eu-1', 2), api('orders', 3, 'gw-a'), api('users', 4, 'gw-a')]);
    send({ node: { id: 'rt-1', zone: 'eu-1', version: '0.1.0', protocolVersion: PROTOCOL_VERSION }, typeUrl: typeUrls.cluster });
    send({ typeUrl: typeUrls.zone });
    expect(sent(), 'nothing before every type is subscribed: removals could not be ordered').toEqual([]);
    send({ typeUrl: typeUrls.api });

    expect(sent().map(line)).toEqual(['cluster r4 +default/gateway/gw-a@1', 'zone r4 +eu-1@2', 'api r4 +default/orders@3 +default/users@4']);
    expect(callbacks.take()).toEqual(['open rt-1 zone=eu-1 applied=0']);
  });

  it('gives every type a first response, empty on an empty snapshot, so the runtime knows it holds everything', () => {
    source.snapshot = snapshotOf(7, []);
    connect();
    expect(sent().map(line)).toEqual(['cluster r7', 'zone r7', 'api r7']);
  });

  it('reports ACKs, and the API revision settled once no API response is outstanding', () => {
    source.snapshot = snapshotOf(3, [gateway('gw-a', 1), api('orders', 3, 'gw-a')]);
    connect();
    const [clusters, zones, apis] = sent();
    if (clusters === undefined || zones === undefined || apis === undefined) throw new Error('expected three responses');
    callbacks.take();
    ack(clusters);
    ack(zones);
    expect(callbacks.take()).toEqual(['ack cluster r3', 'ack zone r3']);
    ack(apis);
    expect(callbacks.take()).toEqual(['ack api r3', 'api settled r3']);
    // An answer to a response this stream never sent (an earlier stream's) changes nothing.
    send({ typeUrl: typeUrls.api, responseNonce: 'zz' });
    expect(callbacks.take()).toEqual([]);
  });

  it('keeps a rejected version out until the resource changes, without holding back the others', () => {
    const base = [gateway('gw-a', 1), api('orders', 2, 'gw-a'), api('users', 3, 'gw-a')];
    source.snapshot = snapshotOf(3, base);
    connect();
    ackAll(sent());
    const v1 = snapshotOf(4, [gateway('gw-a', 1), api('orders', 4, 'gw-a', 90_000), api('users', 3, 'gw-a')], source.snapshot);
    publish(v1);
    const [bad] = sent();
    if (bad === undefined) throw new Error('expected a response');
    expect(line(bad)).toBe('api r4 +default/orders@4');
    callbacks.take();
    nack(bad, 'requestMs over the limit');
    expect(callbacks.take()).toEqual(['nack api r4: requestMs over the limit', 'rejected api default/orders@4', 'api settled r4']);

    // Another change: the rejected version is not sent again with it.
    publish(snapshotOf(5, [gateway('gw-a', 1), api('orders', 4, 'gw-a', 90_000), api('users', 5, 'gw-a')], v1));
    const next = sent();
    expect(next.map(line)).toEqual(['api r5 +default/users@5']);
    ackAll(next);
    // A new version of the rejected API is sent.
    publish(snapshotOf(6, [gateway('gw-a', 1), api('orders', 6, 'gw-a'), api('users', 5, 'gw-a')], source.snapshot));
    expect(sent().map(line)).toEqual(['api r6 +default/orders@6']);
  });

  it('resends a rejected response one resource at a time, so only the bad one stays out', () => {
    source.snapshot = snapshotOf(1, [gateway('gw-a', 1), api('orders', 1, 'gw-a')]);
    connect();
    ackAll(sent());
    publish(snapshotOf(3, [gateway('gw-a', 1), api('orders', 1, 'gw-a'), api('good', 2, 'gw-a'), api('bad', 3, 'gw-a', 90_000)], source.snapshot));
    const [both] = sent();
    if (both === undefined) throw new Error('expected a response');
    expect(line(both)).toBe('api r3 +default/good@2 +default/bad@3');
    nack(both, 'one of them is bad');
    const single = sent();
    expect(single.map(line)).toEqual(['api r3 +default/good@2', 'api r3 +default/bad@3']);
    callbacks.take();
    const [good, bad] = single;
    if (bad === undefined || good === undefined) throw new Error('expected two responses');
    nack(bad, 'requestMs over the limit');
    ack(good);
    expect(callbacks.take()).toEqual(['nack api r3: requestMs over the limit', 'rejected api default/bad@3', 'ack api r3', 'api settled r3']);
  });

  it('on reconnect sends only what differs from what the runtime holds, and removes what was deleted meanwhile', () => {
    source.snapshot = snapshotOf(9, [gateway('gw-a', 1), zone('eu-1', 2), api('orders', 8, 'gw-a'), api('new', 9, 'gw-a')]);
    connect({
      applied: 5,
      holds: {
        cluster: { 'default/gateway/gw-a': '1', 'default/gateway/gw-gone': '3' },
        zone: { 'eu-1': '2' },
        api: { 'default/orders': '4', 'default/deleted': '5' },
      },
    });
    const first = sent();
    // APIs move first (their removals with them); the cluster they no longer use goes after.
    expect(first.map(line)).toEqual(['cluster r9', 'zone r9', 'api r9 +default/orders@8 +default/new@9', 'api r9 -default/deleted']);
    expect(callbacks.take()).toEqual(['open rt-1 zone=eu-1 applied=5']);
    ackAll(first);
    expect(sent().map(line)).toEqual(['cluster r9 -default/gateway/gw-gone']);
  });

  it('removes a cluster only after the APIs that used it moved (make before break)', () => {
    source.snapshot = snapshotOf(3, [gateway('gw-a', 1), gateway('gw-b', 2), api('orders', 3, 'gw-a')]);
    connect();
    ackAll(sent());
    publish(snapshotOf(4, [gateway('gw-a', 1), gateway('gw-b', 2), api('orders', 4, 'gw-b')], source.snapshot));
    const moved = sent();
    expect(moved.map(line)).toEqual(['cluster r4 +default/gateway/gw-b@2', 'api r4 +default/orders@4']);
    const [clusters, apis] = moved;
    if (clusters === undefined || apis === undefined) throw new Error('expected two responses');
    ack(clusters);
    expect(sent(), 'the old cluster stays while the API response is outstanding').toEqual([]);
    ack(apis);
    expect(sent().map(line)).toEqual(['cluster r4 -default/gateway/gw-a']);
  });

  it('tells a runtime that nothing it holds changed with an empty (progress) response at the new revision', () => {
    source.snapshot = snapshotOf(3, [gateway('gw-a', 1), api('orders', 3, 'gw-a')]);
    connect();
    ackAll(sent());
    callbacks.take();
    // A change that touches nothing this runtime holds (an unused gateway).
    publish(snapshotOf(4, [gateway('gw-a', 1), gateway('unused', 4), api('orders', 3, 'gw-a')], source.snapshot));
    const progress = sent();
    expect(progress.map(line)).toEqual(['api r4']);
    expect(callbacks.take(), 'no API changed: every API response up to r4 is answered').toEqual(['api settled r4']);
    ackAll(progress);
    expect(callbacks.take()).toEqual(['ack api r4', 'api settled r4']);
  });

  it('never sends an older revision than the runtime applied: it asks for a newer snapshot instead', () => {
    source.snapshot = snapshotOf(3, [gateway('gw-a', 1), api('orders', 3, 'gw-a')]);
    connect({ applied: 6 });
    expect(sent()).toEqual([]);
    expect(source.newerRequested).toBeGreaterThan(0);
    publish(snapshotOf(6, [gateway('gw-a', 1), api('orders', 6, 'gw-a')], source.snapshot));
    expect(sent().map(line)).toEqual(['cluster r6 +default/gateway/gw-a@1', 'zone r6', 'api r6 +default/orders@6']);
  });

  it('reports the close of the stream that speaks for its runtime, once', () => {
    source.snapshot = snapshotOf(1, []);
    connect();
    callbacks.take();
    session.close();
    session.close();
    expect(callbacks.take()).toEqual(['close rt-1']);
    expect(call.status).toBeUndefined();
  });
});
