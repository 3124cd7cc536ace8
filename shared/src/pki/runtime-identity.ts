import { isSlug } from '../slug.ts';
import { labelKeyPattern, labelValuePattern, MAX_NODE_LABELS, nodeIdPattern } from '../node-identity.ts';

/**
 * Who a runtime is, as its certificate says: the controller decides it from the join
 * token when it signs, and the config stream takes it from the certificate, never from
 * what the runtime claims.
 */
export interface RuntimeIdentity {
  /** The org whose config it serves; null: a shared runtime that serves every org. */
  readonly org: string | null;
  readonly zone: string;
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
}

export const TRUST_DOMAIN = 'causeway';
const labelsPrefix = 'urn:causeway:labels:';

/** `spiffe://causeway/org/acme/zone/eu-1/runtime/NODE`, or `…/shared/zone/…` for a shared runtime. */
export function spiffeId(identity: Pick<RuntimeIdentity, 'org' | 'zone' | 'nodeId'>): string {
  const tenancy = identity.org === null ? 'shared' : `org/${identity.org}`;
  return `spiffe://${TRUST_DOMAIN}/${tenancy}/zone/${identity.zone}/runtime/${encodeURIComponent(identity.nodeId)}`;
}

/** The URI names a runtime certificate carries: its SPIFFE ID, and its labels (SPIFFE IDs have no query). */
export function identityUris(identity: RuntimeIdentity): string[] {
  const labels = new URLSearchParams(Object.entries(identity.labels).sort(([a], [b]) => a.localeCompare(b))).toString();
  return [spiffeId(identity), `${labelsPrefix}${labels}`];
}

const spiffePattern = new RegExp(`^spiffe://${TRUST_DOMAIN}/(?:shared|org/([^/]+))/zone/([^/]+)/runtime/([^/]+)$`);

/** The identity the URI names of a certificate carry, or undefined when they are not a runtime's. */
export function identityFromUris(uris: readonly string[]): RuntimeIdentity | undefined {
  const match = uris.map((uri) => spiffePattern.exec(uri)).find((m) => m !== null);
  if (match === undefined || match === null) return undefined;
  const [, org, zone, encodedNode] = match;
  let nodeId: string;
  try {
    nodeId = decodeURIComponent(encodedNode ?? '');
  } catch {
    return undefined;
  }
  if ((org !== undefined && !isSlug(org)) || !isSlug(zone) || !nodeIdPattern.test(nodeId)) return undefined;
  const labelUri = uris.find((uri) => uri.startsWith(labelsPrefix));
  const entries = [...new URLSearchParams(labelUri?.slice(labelsPrefix.length) ?? '')];
  if (entries.length > MAX_NODE_LABELS || entries.some(([k, v]) => !labelKeyPattern.test(k) || !labelValuePattern.test(v))) return undefined;
  const labels = Object.fromEntries(entries);
  return { org: org ?? null, zone, nodeId, labels };
}
