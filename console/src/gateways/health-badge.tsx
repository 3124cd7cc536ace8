import type { Schemas } from '../api.ts';

type Member = NonNullable<NonNullable<Schemas['GatewayPool']['status']>['members']>[number];

/**
 * "2/3 healthy": green when every member is, red when none is, yellow between. A member never
 * checked is unknown, not down: it counts in neither, and the badge says so.
 */
export function PoolHealthBadge({ members }: { members: readonly Member[] }) {
  const healthy = members.filter((m) => m.health === 'healthy').length;
  const unknown = members.filter((m) => m.health === 'unknown').length;
  const total = members.length;
  const tone = total === 0 ? 'grey' : healthy === total ? 'green' : healthy === 0 && unknown === 0 ? 'red' : healthy === 0 ? 'grey' : 'yellow';
  const text = total === 0 ? 'no members' : `${healthy}/${total} healthy${unknown > 0 ? `, ${unknown} unknown` : ''}`;
  return (
    <span class={`badge ${tone}`} data-testid="pool-health">
      {text}
    </span>
  );
}

export function GatewayHealth({ health, reason }: { health: string | undefined; reason: string | undefined }) {
  const tone = health === 'healthy' ? 'green' : health === 'unhealthy' ? 'red' : 'grey';
  return (
    <span class={`badge ${tone}`} title={reason}>
      {health ?? 'unknown'}
    </span>
  );
}

export function when(at: string | null | undefined): string {
  return at === null || at === undefined ? 'never' : new Date(at).toLocaleTimeString();
}
