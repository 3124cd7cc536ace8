import { call, type Schemas, type Session } from '../api.ts';
import { PoolHealthBadge } from '../gateways/health-badge.tsx';
import { usePolling } from '../use-polling.ts';

type Pool = Schemas['GatewayPool'];
export type Upstream = { gateway: string } | { pool: string };

/** `gateway:NAME` or `pool:NAME`: one select holds both kinds. */
function valueOf(upstream: Upstream | undefined): string {
  if (upstream === undefined) return '';
  return 'pool' in upstream ? `pool:${upstream.pool}` : `gateway:${upstream.gateway}`;
}

function upstreamOf(value: string): Upstream | undefined {
  const [kind, name = ''] = value.split(/:(.*)/s);
  if (kind === 'pool') return { pool: name };
  if (kind === 'gateway') return { gateway: name };
  return undefined;
}

function healthyCount(pool: Pool): number {
  return (pool.status?.members ?? []).filter((m) => m.health === 'healthy').length;
}

/**
 * Why saving on this upstream may serve nothing: a pool with no healthy member. A member no
 * runtime has checked yet is unknown, not down (nothing checks a pool no API uses), so only a
 * pool that is empty or whose members are all known to be down warns.
 */
export function upstreamWarning(upstream: Upstream | undefined, pools: readonly Pool[]): string | undefined {
  if (upstream === undefined || !('pool' in upstream)) return undefined;
  const pool = pools.find((p) => p.metadata?.name === upstream.pool);
  if (pool === undefined || (pool.status?.members ?? []).some((m) => m.health !== 'unhealthy')) return undefined;
  return `Pool ${upstream.pool} has no healthy member: requests to this API will fail until one is healthy.`;
}

function poolLabel(pool: Pool): string {
  const total = pool.spec.members.length;
  const ha = total >= 2 ? ', HA' : '';
  return `${pool.metadata?.name ?? ''} (${healthyCount(pool)}/${total} healthy${ha})`;
}

export function usePools(session: Session) {
  return usePolling(() => call(session, 'get', '/v1/gateway-pools'), [session]);
}

interface PickerProps {
  session: Session;
  pools: readonly Pool[];
  value: Upstream | undefined;
  onChange: (upstream: Upstream | undefined) => void;
}

/** Where an API sends its requests: a gateway, or a pool with its health and an HA badge. */
export function GatewayPicker({ session, pools, value, onChange }: PickerProps) {
  const gateways = usePolling(() => call(session, 'get', '/v1/gateways'), [session]);
  const chosenPool = value !== undefined && 'pool' in value ? pools.find((p) => p.metadata?.name === value.pool) : undefined;
  return (
    <>
      <label for="upstream">Upstream</label>
      <select id="upstream" value={valueOf(value)} onChange={(e) => onChange(upstreamOf(e.currentTarget.value))}>
        <option value="">Choose a gateway or pool…</option>
        <optgroup label="Gateways">
          {(gateways.data?.items ?? []).map((g) => (
            <option key={g.metadata?.name} value={`gateway:${g.metadata?.name ?? ''}`}>
              {g.metadata?.name} ({g.status?.health ?? 'unknown'})
            </option>
          ))}
        </optgroup>
        <optgroup label="Gateway Pools">
          {pools.map((p) => (
            <option key={p.metadata?.name} value={`pool:${p.metadata?.name ?? ''}`}>
              {poolLabel(p)}
            </option>
          ))}
        </optgroup>
      </select>
      {chosenPool !== undefined && (
        <span>
          <PoolHealthBadge members={chosenPool.status?.members ?? []} /> {chosenPool.spec.members.length >= 2 && <span class="badge blue">HA</span>}
        </span>
      )}
    </>
  );
}
