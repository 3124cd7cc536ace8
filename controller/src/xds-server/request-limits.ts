import {
  CausewayError,
  isSlug,
  labelKeyPattern,
  labelRule,
  labelValuePattern,
  MAX_NODE_LABELS,
  nodeIdPattern,
  nodeIdRule,
  slugRule,
} from '@causeway/shared';
import type { DiscoveryRequest, Node } from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import type { MemberHealthReport } from './stream-callbacks.ts';

/**
 * Bounds on what a runtime may send on its config stream. Whatever is logged or stored is
 * bounded: identity fields must follow the rules a runtime's own configuration enforces
 * (a stream breaking one is refused), free text is cut.
 */
export const xdsLimits = {
  maxVersionLength: 64,
  maxTypeUrlLength: 256,
  maxNonceLength: 64,
  /** Names in `initial_resource_versions` and in member reports. */
  maxResourceNameLength: 256,
  maxResourceVersionLength: 32,
  /** Resources of one type a runtime may say it holds. */
  maxInitialResources: 200_000,
  /** A NACK's error message is kept (logged, stored) up to this many characters. */
  maxErrorMessageLength: 4_096,
  maxHealthReasonLength: 500,
  /** Member health entries of one report taken into account; the rest are dropped. */
  maxReportMembers: 100_000,
} as const;

const versionPattern = /^[0-9A-Za-z.+_-]*$/;

/** The first characters of a value for an error message, quoted. */
export function excerpt(value: string, length = 64): string {
  return JSON.stringify(value.length > length ? `${value.slice(0, length)}…` : value);
}

/** `text` cut to `max` characters, saying how much was cut. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never split a surrogate pair: the result must stay valid UTF-16 (and UTF-8 once stored).
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)} … [truncated: ${text.length - end} more characters]`;
}

function invalid(field: string, message: string): CausewayError {
  return new CausewayError('invalid_argument', `${field}: ${message}`);
}

function checkRevision(field: string, revision: bigint): void {
  if (revision > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(field, `${revision} is not a revision`);
}

/** The identity of the first request of a stream. Throws naming the field that breaks a rule. */
export function checkNode(node: Node | undefined): asserts node is Node {
  if (node === undefined || node.id === '') throw invalid('node.id', 'the first request of a stream must carry node.id');
  if (!nodeIdPattern.test(node.id)) throw invalid('node.id', `${excerpt(node.id)} is not a node id (${nodeIdRule})`);
  if (node.zone !== '' && !isSlug(node.zone)) throw invalid('node.zone', `${excerpt(node.zone)} is not a slug (${slugRule})`);
  if (node.version.length > xdsLimits.maxVersionLength || !versionPattern.test(node.version)) {
    throw invalid('node.version', `${excerpt(node.version)} is not a version (letters, digits, '.', '+', '_', '-', max ${xdsLimits.maxVersionLength})`);
  }
  const labels = Object.entries(node.labels);
  if (labels.length > MAX_NODE_LABELS) throw invalid('node.labels', `${labels.length} labels; at most ${MAX_NODE_LABELS}`);
  for (const [key, value] of labels) {
    if (!labelKeyPattern.test(key) || !labelValuePattern.test(value)) {
      throw invalid(`node.labels[${excerpt(key)}]`, `${excerpt(value)} is not a label (${labelRule})`);
    }
  }
}

/** Every bounded field of a request but the node (checked once, by `checkNode`). */
export function checkRequest(request: DiscoveryRequest): void {
  checkRevision('applied_revision', request.appliedRevision);
  if (request.report !== undefined) checkRevision('report.applied_revision', request.report.appliedRevision);
  if (request.typeUrl.length > xdsLimits.maxTypeUrlLength) {
    throw invalid('type_url', `${excerpt(request.typeUrl)} is longer than ${xdsLimits.maxTypeUrlLength} characters`);
  }
  if (request.responseNonce.length > xdsLimits.maxNonceLength) {
    throw invalid('response_nonce', `${excerpt(request.responseNonce)} is longer than ${xdsLimits.maxNonceLength} characters`);
  }
  checkInitialVersions(request.initialResourceVersions);
}

function checkInitialVersions(versions: Readonly<Record<string, string>>): void {
  let count = 0;
  for (const name in versions) {
    if (++count > xdsLimits.maxInitialResources) {
      throw invalid('initial_resource_versions', `more than ${xdsLimits.maxInitialResources} resources`);
    }
    if (name === '' || name.length > xdsLimits.maxResourceNameLength) {
      throw invalid('initial_resource_versions', `name ${excerpt(name)} is empty or longer than ${xdsLimits.maxResourceNameLength} characters`);
    }
    const version = versions[name] ?? '';
    if (version.length > xdsLimits.maxResourceVersionLength) {
      throw invalid(`initial_resource_versions[${excerpt(name)}]`, `version ${excerpt(version)} is longer than ${xdsLimits.maxResourceVersionLength} characters`);
    }
  }
}

/**
 * The member health entries of a report that are recorded: names must be bounded like
 * the resources they come from (a report breaking that is refused); reasons are cut, and
 * entries past the cap are dropped.
 */
export function boundedMembers(members: readonly MemberHealthReport[]): MemberHealthReport[] {
  const kept = members.length > xdsLimits.maxReportMembers ? members.slice(0, xdsLimits.maxReportMembers) : members;
  return kept.map((m, i) => {
    if (m.cluster.length > xdsLimits.maxResourceNameLength || m.member.length > xdsLimits.maxResourceNameLength) {
      throw invalid(`report.members[${i}]`, `cluster or member name longer than ${xdsLimits.maxResourceNameLength} characters`);
    }
    return m.reason.length > xdsLimits.maxHealthReasonLength ? { ...m, reason: truncateText(m.reason, xdsLimits.maxHealthReasonLength) } : m;
  });
}
