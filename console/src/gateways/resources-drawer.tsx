import { call, type Session } from '../api.ts';
import { usePolling } from '../use-polling.ts';
import { Dialog } from './dialog.tsx';

/** Every API and live allocation that uses one pool. */
export function ResourcesDrawer({ session, pool, onClose }: { session: Session; pool: string; onClose: () => void }) {
  const resources = usePolling(() => call(session, 'get', '/v1/gateway-pools/{name}/resources', { params: { name: pool } }), [session, pool]);
  const items = resources.data?.items ?? [];
  return (
    <Dialog title={`Connected resources of ${pool}`} kind="drawer" onClose={onClose}>
      {resources.error !== undefined && <p class="error" role="alert">{resources.error}</p>}
      {resources.data !== undefined && items.length === 0 && <p>Nothing uses this pool.</p>}
      <ul>
        {items.map((r) => (
          <li key={`${r.kind}/${r.name}`}>
            <span class="kind">{r.kind}</span> {r.name}
          </li>
        ))}
      </ul>
    </Dialog>
  );
}
