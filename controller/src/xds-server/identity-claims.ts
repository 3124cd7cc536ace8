import type { RuntimeIdentity as CertifiedIdentity } from '@causeway/shared/pki';
import type { Node } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

/**
 * What a runtime's first request claims that its certificate does not say, or undefined.
 * The node id must be the certificate's; a zone or labels left empty claim nothing (the
 * certificate's count), given ones must be exactly the certificate's.
 */
export function claimMismatch(node: Node, certified: CertifiedIdentity): string | undefined {
  const differences: string[] = [];
  if (node.id !== certified.nodeId) differences.push(`node.id "${node.id}" (certificate: "${certified.nodeId}")`);
  if (node.zone !== '' && node.zone !== certified.zone) differences.push(`node.zone "${node.zone}" (certificate: "${certified.zone}")`);
  if (Object.keys(node.labels).length > 0 && !sameLabels(node.labels, certified.labels)) {
    differences.push(`node.labels ${JSON.stringify(node.labels)} (certificate: ${JSON.stringify(certified.labels)})`);
  }
  if (differences.length === 0) return undefined;
  return `the runtime claims another identity than its client certificate carries: ${differences.join('; ')}`;
}
