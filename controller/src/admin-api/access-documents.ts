import { CausewayError, isSlug, slugRule } from '@causeway/shared';
import { actions, allows, attachable, builtInRoles, isBuiltInRole, subjects, type Action, type Permission, type Subject } from '../access/permissions.ts';
import type { OrgRecord, RoleRecord, TokenRecord } from '../store/access-tables.ts';
import type { AuditEvent, AuditQuery } from '../store/audit-events.ts';
import { Checker } from './checker.ts';
import { decodeCursor } from './list-cursor.ts';
import { API_VERSION } from './validate.ts';
import type { Principal } from './access.ts';

/** A token lives 90 days unless asked otherwise; at most ten years; `null` never expires. */
const tokenLifetime = { defaultSeconds: 7_776_000, minSeconds: 60, maxSeconds: 315_360_000 } as const;
const MAX_PERMISSIONS = 32;

export function orgDocument(org: OrgRecord) {
  return { apiVersion: API_VERSION, kind: 'Org', metadata: { name: org.name, revision: org.revision, createdBy: org.createdBy, createdAt: org.createdAt.toISOString() } };
}

function tokenState(token: TokenRecord): 'active' | 'expired' | 'revoked' {
  if (token.revokedAt !== null) return 'revoked';
  return token.expiresAt !== null && token.expiresAt.getTime() <= Date.now() ? 'expired' : 'active';
}

/** A token as lists show it: never its secret nor its digest. */
export function tokenDocument(token: TokenRecord) {
  return {
    id: token.id,
    name: token.name,
    role: token.role,
    gateway: token.gateway,
    state: tokenState(token),
    createdBy: token.createdBy,
    createdAt: token.createdAt.toISOString(),
    expiresAt: token.expiresAt?.toISOString() ?? null,
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    revokedAt: token.revokedAt?.toISOString() ?? null,
  };
}

export function roleDocument(name: string, permissions: readonly Permission[], record?: RoleRecord) {
  return {
    apiVersion: API_VERSION,
    kind: 'Role',
    metadata: { name, builtIn: record === undefined, ...(record === undefined ? {} : { revision: record.revision, updatedAt: record.updatedAt.toISOString() }) },
    spec: { permissions },
  };
}

export function builtInRoleDocuments() {
  return Object.entries(builtInRoles).map(([name, permissions]) => roleDocument(name, permissions));
}

export function auditEventDocument(event: AuditEvent) {
  return { ...event, at: event.at.toISOString() };
}

/** `{"name": "ci", "role": "operator", "expiresInSeconds": 86400}`. */
export function validateTokenRequest(body: unknown): { name: string; role: string; expiresInSeconds: number | null } {
  const c = new Checker();
  const doc = c.object('(body)', body, ['name', 'role', 'expiresInSeconds'], true) ?? {};
  const name = c.slug('name', doc.name);
  const role = c.slug('role', doc.role);
  const expires = doc.expiresInSeconds === null ? null : c.range('expiresInSeconds', doc.expiresInSeconds, { min: tokenLifetime.minSeconds, max: tokenLifetime.maxSeconds, default: tokenLifetime.defaultSeconds });
  c.done();
  return { name, role, expiresInSeconds: expires };
}

/** `{"expiresInSeconds": …}` for a gateway's heartbeat token (no body: the default lifetime). */
export function validateGatewayTokenRequest(body: unknown): { expiresInSeconds: number | null } {
  const c = new Checker();
  const doc = c.object('(body)', body, ['expiresInSeconds']) ?? {};
  const expires = doc.expiresInSeconds === null ? null : c.range('expiresInSeconds', doc.expiresInSeconds, { min: tokenLifetime.minSeconds, max: tokenLifetime.maxSeconds, default: tokenLifetime.defaultSeconds });
  c.done();
  return { expiresInSeconds: expires };
}

/** `{"permissions": [{"subject": "gateway-pools", "actions": ["read", "attach"]}]}`. */
export function validateRole(name: string, body: unknown): Permission[] {
  const c = new Checker();
  if (isBuiltInRole(name)) c.fail('metadata.name', `"${name}" is a built-in role and cannot be changed`);
  if (!isSlug(name)) c.fail('metadata.name', `${JSON.stringify(name)} is not a slug (${slugRule})`);
  const doc = c.object('(body)', body, ['apiVersion', 'kind', 'metadata', 'permissions', 'spec'], true) ?? {};
  const spec = doc.spec === undefined ? doc : (c.object('spec', doc.spec, ['permissions']) ?? {});
  const path = doc.spec === undefined ? 'permissions' : 'spec.permissions';
  const permissions = c.list(path, spec.permissions, MAX_PERMISSIONS, (at, value) => {
    const item = c.object(at, value, ['subject', 'actions'], true) ?? {};
    const subject = c.oneOf<Subject>(`${at}.subject`, item.subject, 'apis', subjects);
    const allowed = attachable.has(subject) ? actions : actions.filter((a) => a !== 'attach');
    const granted = c.list(`${at}.actions`, item.actions, actions.length, (p, v) => c.oneOf<Action>(p, v, 'read', allowed));
    if (granted.length === 0) c.fail(`${at}.actions`, 'is empty: name at least one action');
    return JSON.stringify({ subject, actions: granted });
  });
  if (spec.permissions === undefined) c.fail(path, 'is required');
  c.done();
  return permissions.map((p) => JSON.parse(p) as Permission);
}

/** A token may hand out only what it holds itself (the bootstrap token holds everything). */
export function refuseEscalation(principal: Principal, granted: readonly Permission[], what: string): void {
  if (principal.systemAdmin) return;
  for (const permission of granted) {
    for (const action of permission.actions) {
      if (!allows(principal.permissions, { subject: permission.subject, action })) {
        throw new CausewayError('permission_denied', `token "${principal.actor.name}" (role ${principal.role}) may not ${what}: it grants ${permission.subject}:${action}, which the token does not hold`);
      }
    }
  }
}

const durationPattern = /^(\d{1,6})(s|m|h|d)$/;
const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An RFC 3339 time, or a duration before now (`90s`, `30m`, `1h`, `7d`). */
function instant(c: Checker, path: string, raw: string | undefined): Date | undefined {
  if (raw === undefined || raw === '') return undefined;
  const duration = durationPattern.exec(raw);
  if (duration !== null) return new Date(Date.now() - Number(duration[1]) * unitMs[duration[2] as keyof typeof unitMs]);
  const at = new Date(raw);
  if (Number.isNaN(at.getTime()) || !/^\d{4}-\d\d-\d\d/.test(raw)) c.fail(path, `${JSON.stringify(raw.slice(0, 64))} is not an RFC 3339 time or a duration like 30m, 1h, 7d`);
  return at;
}

/** `?resource=gateway-pool/shop&action=&actor=&since=&until=&limit=&cursor=`. */
export function parseAuditQuery(org: string, query: Readonly<Record<string, string | undefined>>): AuditQuery {
  const c = new Checker();
  const [resourceKind, resourceName] = query.resource === undefined || query.resource === '' ? [] : query.resource.split('/', 2);
  if (query.resource !== undefined && query.resource !== '' && (resourceKind === undefined || resourceKind.length > 64 || (resourceName ?? '').length > 64)) {
    c.fail('resource', 'is not kind/name (like gateway-pool/shop) or kind');
  }
  const limit = c.range('limit', query.limit === undefined ? undefined : Number(query.limit), { min: 1, max: 1_000, default: 100 });
  const text = (name: string, value: string | undefined): string | undefined => {
    if (value === undefined || value === '') return undefined;
    if (value.length > 128) c.fail(name, 'is longer than 128 characters');
    return value;
  };
  const parsed: AuditQuery = {
    org,
    limit,
    ...(resourceKind === undefined || resourceKind === '' ? {} : { resourceKind }),
    ...(resourceName === undefined || resourceName === '' ? {} : { resourceName }),
    ...optional('action', text('action', query.action)),
    ...optional('actor', text('actor', query.actor)),
    ...optional('since', instant(c, 'since', query.since)),
    ...optional('until', instant(c, 'until', query.until)),
    ...optional('before', decodeCursor(c, query.cursor, (id): id is number => typeof id === 'number' && Number.isSafeInteger(id))),
  };
  c.done();
  return parsed;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
