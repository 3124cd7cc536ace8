/**
 * What a token may do: a role is a set of permissions, each a subject (a kind of resource)
 * with actions. Decided in one place (`allows`), from data: routes declare what they
 * need, roles say what they grant.
 */

export const subjects = [
  'apis',
  'consumers',
  'gateways',
  'gateway-pools',
  'zones',
  'runtimes',
  'controllers',
  'allocations',
  'audit-events',
  'tokens',
  'roles',
] as const;
export type Subject = (typeof subjects)[number];

export const actions = ['read', 'create', 'edit', 'delete', 'attach'] as const;
export type Action = (typeof actions)[number];

/** `attach` (naming a gateway or pool as an API's upstream) exists only for these. */
export const attachable: ReadonlySet<Subject> = new Set(['gateways', 'gateway-pools']);

export interface Permission {
  readonly subject: Subject;
  readonly actions: readonly Action[];
}

/** What a route or an operation needs. */
export interface Need {
  readonly subject: Subject;
  readonly action: Action;
}

export function describeNeed(need: Need): string {
  return `${need.subject}:${need.action}`;
}

function actionsOf(subject: Subject): readonly Action[] {
  return attachable.has(subject) ? actions : actions.filter((a) => a !== 'attach');
}

const everything: readonly Permission[] = subjects.map((subject) => ({ subject, actions: actionsOf(subject) }));

export const builtInRoles = {
  /** Everything in its org. */
  admin: everything,
  /** Everything but tokens and roles. */
  operator: everything.filter((p) => p.subject !== 'tokens' && p.subject !== 'roles'),
  /** Reads everything but tokens and roles; changes nothing. */
  viewer: subjects.filter((s) => s !== 'tokens' && s !== 'roles').map((subject): Permission => ({ subject, actions: ['read'] })),
} as const satisfies Record<string, readonly Permission[]>;

export type BuiltInRole = keyof typeof builtInRoles;

export function isBuiltInRole(name: string): name is BuiltInRole {
  return Object.hasOwn(builtInRoles, name);
}

/** Whether the permissions grant the action on the subject. */
export function allows(permissions: readonly Permission[], need: Need): boolean {
  return permissions.some((p) => p.subject === need.subject && p.actions.includes(need.action));
}
