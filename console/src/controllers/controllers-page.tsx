import { call, type Session } from '../api.ts';
import type { operations } from '../gen/admin-api.ts';
import { usePolling } from '../use-polling.ts';
import { TableHead } from '../table-head.tsx';

type ControllerList = operations['listControllers']['responses'][200]['content']['application/json'];
type Controller = NonNullable<ControllerList['items']>[number];

function when(at: string | undefined): string {
  return at === undefined ? '—' : new Date(at).toLocaleString();
}

function ControllerRow({ controller }: { controller: Controller }) {
  const alive = controller.alive === true;
  return (
    <tr data-controller={controller.id}>
      <td>{controller.id}</td>
      <td>
        <span class={`badge ${alive ? 'green' : 'red'}`} data-testid="alive">
          {alive ? 'alive' : 'not alive'}
        </span>
      </td>
      <td>{controller.adminAddress}</td>
      <td>{controller.xdsAddress}</td>
      <td>{controller.appliedRevision}</td>
      <td data-testid="connected-runtimes">{controller.connectedRuntimes}</td>
      <td>{when(controller.lastHeartbeatAt)}</td>
      <td>{when(controller.startedAt)}</td>
      <td>{controller.version}</td>
    </tr>
  );
}

/**
 * Every controller replica as its last heartbeat (every 5 s) described it: addresses, the
 * revision it has read, how many runtimes stream from it. Alive: heard from in the last 15 s.
 */
export function ControllersPage({ session }: { session: Session }) {
  const controllers = usePolling(() => call(session, 'get', '/v1/controllers'), [session]);
  const items = controllers.data?.items ?? [];
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Controllers</h1>
      <p class="hint">Each replica as its last heartbeat (every 5 s) reported it: its applied revision and runtimes may be that much behind.</p>
      {controllers.error !== undefined && <p class="error" role="alert">{controllers.error}</p>}
      <table>
        <caption class="visually-hidden">Controller replicas</caption>
        <TableHead columns={['Controller', 'State', 'Admin address', 'xDS address', 'Applied revision', 'Connected runtimes', 'Last heartbeat', 'Started', 'Version']} />
        <tbody>
          {items.map((c) => (
            <ControllerRow key={c.id} controller={c} />
          ))}
        </tbody>
      </table>
      {controllers.data !== undefined && items.length === 0 && <p>No controller has sent a heartbeat yet.</p>}
    </section>
  );
}
