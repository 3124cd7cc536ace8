import type { VNode } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { call, type Schemas, type Session } from '../api.ts';
import { usePolling } from '../use-polling.ts';
import { CreatePool } from './create-pool.tsx';
import { PoolHealthBadge } from './health-badge.tsx';
import { PoolSheet } from './pool-sheet.tsx';
import { ResourcesDrawer } from './resources-drawer.tsx';
import { TableHead } from '../table-head.tsx';

type Pool = Schemas['GatewayPool'];

function PoolRow({ pool, onOpen, onResources }: { pool: Pool; onOpen: () => void; onResources: () => void }) {
  const name = pool.metadata?.name ?? '';
  const used = pool.status?.usedByCount ?? 0;
  return (
    <tr data-pool={name}>
      <td>
        <button type="button" class="link" onClick={onOpen} aria-label={`Open pool ${name}`}>
          {name}
        </button>
      </td>
      <td>{pool.spec.members.join(', ') || '—'}</td>
      <td>
        <PoolHealthBadge members={pool.status?.members ?? []} />
      </td>
      <td>
        <button type="button" class="link" onClick={onResources} aria-label={`Connected resources of ${name}: ${used}`}>
          {used}
        </button>
      </td>
    </tr>
  );
}

/**
 * One row per pool, made again only for a pool whose JSON changed: the list is read every 2 s,
 * and with 1,000 pools re-rendering every unchanged row held the page for ~100 ms each time
 * (npm run bench:console). Preact skips a row whose element is the one it rendered last.
 */
function usePoolRows(items: readonly Pool[], open: (name: string | undefined) => void, showResources: (name: string | undefined) => void): VNode[] {
  const cache = useRef(new Map<string, { json: string; row: VNode }>());
  const next = new Map<string, { json: string; row: VNode }>();
  const rows = items.map((pool) => {
    const name = pool.metadata?.name ?? '';
    const json = JSON.stringify(pool);
    const cached = cache.current.get(name);
    const entry = cached?.json === json ? cached : { json, row: <PoolRow key={name} pool={pool} onOpen={() => open(name)} onResources={() => showResources(name)} /> };
    next.set(name, entry);
    return entry.row;
  });
  cache.current = next;
  return rows;
}

/** The org's pools: members, health badge, what uses each; a sheet per pool, a drawer per usage. */
export function PoolList({ session }: { session: Session }) {
  const pools = usePolling(() => call(session, 'get', '/v1/gateway-pools'), [session]);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [resourcesOf, setResourcesOf] = useState<string | undefined>(undefined);
  const items = pools.data?.items ?? [];
  const opened = items.find((p) => p.metadata?.name === open);
  const rows = usePoolRows(items, setOpen, setResourcesOf);
  return (
    <>
      <CreatePool session={session} existing={items.map((p) => p.metadata?.name ?? '')} onCreated={pools.reload} />
      {pools.error !== undefined && <p class="error" role="alert">{pools.error}</p>}
      <table>
        <caption class="visually-hidden">Gateway pools</caption>
        <TableHead columns={['Name', 'Members', 'Health', 'Connected resources']} />
        <tbody>{rows}</tbody>
      </table>
      {pools.data !== undefined && items.length === 0 && <p>No gateway pools yet.</p>}
      {opened !== undefined && (
        <PoolSheet
          session={session}
          pool={opened}
          onChanged={pools.reload}
          onClose={() => {
            setOpen(undefined);
            pools.reload();
          }}
        />
      )}
      {resourcesOf !== undefined && <ResourcesDrawer session={session} pool={resourcesOf} onClose={() => setResourcesOf(undefined)} />}
    </>
  );
}
