import { fieldChanges } from '../access/field-changes.ts';
import { recordAuditEvent } from './audit-events.ts';
import type { Sql } from './database.ts';
import type { AuditContext } from './mutate.ts';
import type { Labels } from './records.ts';
import { SHARED_RUNTIMES_AUDIT_ORG } from './runtime-tokens.ts';

/** A client certificate signed for a runtime. */
export interface IssuedCertificateRecord {
  /** Normalized hexadecimal. */
  readonly serial: string;
  readonly nodeId: string;
  readonly org: string | null;
  readonly zone: string;
  readonly labels: Labels;
  /** The join token it descends from (kept across renewals). */
  readonly tokenId: string | null;
  /** The serial of the certificate it renewed; null when issued for a join token. */
  readonly renewedFrom: string | null;
  readonly notAfter: Date;
}

interface Row {
  serial: string;
  node_id: string;
  org_id: string | null;
  zone: string;
  labels: Record<string, string>;
  token_id: string | null;
  renewed_from: string | null;
  not_after: Date;
}

/**
 * Records a certificate just signed, with its audit event, in one transaction. Issuing
 * changes no config, so it takes no revision: a fleet joining does not push anything.
 */
export async function recordIssuedCertificate(sql: Sql, context: AuditContext, cert: IssuedCertificateRecord): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      INSERT INTO runtime_certificates (serial, node_id, org_id, zone, labels, token_id, renewed_from, controller_id, not_after)
      VALUES (${cert.serial}, ${cert.nodeId}, ${cert.org}, ${cert.zone}, ${tx.json(cert.labels)}, ${cert.tokenId}, ${cert.renewedFrom},
              ${context.controllerId}, ${cert.notAfter})`;
    const shown = { spec: { serial: cert.serial, org: cert.org, zone: cert.zone, labels: cert.labels, notAfter: cert.notAfter.toISOString(), token: cert.tokenId } };
    await recordAuditEvent(tx, context, {
      org: cert.org ?? SHARED_RUNTIMES_AUDIT_ORG,
      action: cert.renewedFrom === null ? 'runtime.join' : 'runtime.renew',
      resourceKind: 'runtime',
      resourceName: cert.nodeId,
      changes: fieldChanges(undefined, shown),
    });
  });
}

/** The certificate with this (normalized) serial, if this deployment issued it. */
export async function issuedCertificate(sql: Sql, serial: string): Promise<IssuedCertificateRecord | undefined> {
  const [row] = await sql<Row[]>`SELECT * FROM runtime_certificates WHERE serial = ${serial}`;
  if (row === undefined) return undefined;
  return {
    serial: row.serial,
    nodeId: row.node_id,
    org: row.org_id,
    zone: row.zone,
    labels: row.labels,
    tokenId: row.token_id,
    renewedFrom: row.renewed_from,
    notAfter: row.not_after,
  };
}

/** Whether the node id is revoked, read from the database (not a replica's model): for issuing. */
export async function isNodeRevoked(sql: Sql, nodeId: string): Promise<boolean> {
  const [row] = await sql<{ revoked: boolean }[]>`SELECT EXISTS (SELECT 1 FROM runtime_revocations WHERE node_id = ${nodeId}) AS revoked`;
  return row?.revoked === true;
}
