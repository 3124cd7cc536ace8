import { describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { CausewayError, PROTOCOL_VERSION } from '@causeway/shared';
import { DiscoveryRequestSchema, NodeSchema } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import { boundedMembers, checkNode, checkRequest, truncateText, xdsLimits } from './request-limits.ts';

function refusal(check: () => void): string {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(CausewayError);
    expect((error as CausewayError).code).toBe('invalid_argument');
    return (error as CausewayError).message;
  }
  throw new Error('not refused');
}

const node = (fields: Partial<{ id: string; zone: string; version: string; labels: Record<string, string> }>) =>
  create(NodeSchema, { id: 'rt-1', zone: 'eu-1', version: '0.1.0', protocolVersion: PROTOCOL_VERSION, ...fields });

describe('config stream request limits', () => {
  it('accepts what a runtime configured within its own rules sends', () => {
    expect(() => checkNode(node({ id: 'host-1.example:8080', labels: { 'topology.kubernetes.io/zone': 'eu-1a', tier: '' } }))).not.toThrow();
    expect(() => checkRequest(create(DiscoveryRequestSchema, { appliedRevision: 9n, initialResourceVersions: { 'acme/pool/main': '12' } }))).not.toThrow();
  });

  it('refuses identities that break the runtime configuration rules, naming the field', () => {
    expect(refusal(() => checkNode(undefined))).toBe('node.id: the first request of a stream must carry node.id');
    expect(refusal(() => checkNode(node({ id: 'x'.repeat(129) })))).toMatch(/^node\.id: "x{64}…" is not a node id/);
    expect(refusal(() => checkNode(node({ zone: 'EU 1' })))).toMatch(/^node\.zone: "EU 1" is not a slug/);
    expect(refusal(() => checkNode(node({ version: 'v1\n' })))).toMatch(/^node\.version: /);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, '']));
    expect(refusal(() => checkNode(node({ labels: many })))).toBe('node.labels: 65 labels; at most 64');
    expect(refusal(() => checkNode(node({ labels: { '-bad': 'v' } })))).toMatch(/^node\.labels\["-bad"\]: /);
  });

  it('refuses oversized or impossible request fields, naming the field', () => {
    const request = (init: Parameters<typeof create<typeof DiscoveryRequestSchema>>[1]) => () => checkRequest(create(DiscoveryRequestSchema, init));
    expect(refusal(request({ appliedRevision: 2n ** 53n }))).toMatch(/^applied_revision: /);
    expect(refusal(request({ report: { appliedRevision: 2n ** 63n } }))).toMatch(/^report\.applied_revision: /);
    expect(refusal(request({ typeUrl: 't'.repeat(257) }))).toMatch(/^type_url: /);
    expect(refusal(request({ responseNonce: 'n'.repeat(65) }))).toMatch(/^response_nonce: /);
    expect(refusal(request({ initialResourceVersions: { '': '1' } }))).toMatch(/^initial_resource_versions: name "" is empty/);
    expect(refusal(request({ initialResourceVersions: { a: '1'.repeat(33) } }))).toMatch(/^initial_resource_versions\["a"\]: version /);
  });

  it('cuts free text and says how much was cut, never splitting a character', () => {
    expect(truncateText('short', 10)).toBe('short');
    expect(truncateText('x'.repeat(5_000), xdsLimits.maxErrorMessageLength)).toBe(`${'x'.repeat(4_096)} … [truncated: 904 more characters]`);
    const cut = truncateText(`${'a'.repeat(3)}😀😀`, 4);
    expect(cut).toBe('aaa … [truncated: 4 more characters]');
  });

  it('cuts health reasons, drops entries past the cap, and refuses oversized names', () => {
    const member = { cluster: 'acme/pool/p', member: 'gw', healthy: false, reason: 'r'.repeat(600) };
    const [kept] = boundedMembers([member]);
    expect(kept?.reason.startsWith('r'.repeat(500))).toBe(true);
    expect(kept?.reason).toMatch(/\[truncated: 100 more characters\]$/);
    expect(boundedMembers(Array.from({ length: xdsLimits.maxReportMembers + 3 }, () => ({ ...member, reason: '' })))).toHaveLength(xdsLimits.maxReportMembers);
    expect(refusal(() => boundedMembers([{ ...member, member: 'm'.repeat(257) }]))).toMatch(/^report\.members\[0\]: /);
  });
});
