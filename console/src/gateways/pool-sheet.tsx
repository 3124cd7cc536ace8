import { useState } from 'preact/hooks';
import { call, messageOf, type Schemas, type Session } from '../api.ts';
import { usePolling } from '../use-polling.ts';
import { Dialog } from './dialog.tsx';
import { GatewayHealth, PoolHealthBadge, when } from './health-badge.tsx';
import { TableHead } from '../table-head.tsx';

type Pool = Schemas['GatewayPool'];

/** Gateways not yet in the pool, to pick one to add. */
function AddGateway({ session, pool, onAdded }: { session: Session; pool: Pool; onAdded: (error?: string) => void }) {
  const gateways = usePolling(() => call(session, 'get', '/v1/gateways'), [session]);
  const [chosen, setChosen] = useState('');
  const choices = (gateways.data?.items ?? []).map((g) => g.metadata?.name ?? '').filter((n) => n !== '' && !pool.spec.members.includes(n));
  const add = async (event: Event): Promise<void> => {
    event.preventDefault();
    try {
      await call(session, 'post', '/v1/gateway-pools/{name}/memberships', { params: { name: pool.metadata?.name ?? '' }, body: { gateway: chosen } });
      setChosen('');
      onAdded();
    } catch (e) {
      onAdded(messageOf(e));
    }
  };
  return (
    <form class="inline-form" onSubmit={add} aria-label="Add gateway">
      <label for="add-gateway">Gateway</label>
      <select id="add-gateway" value={chosen} onChange={(e) => setChosen(e.currentTarget.value)}>
        <option value="">Choose a gateway…</option>
        {choices.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      <button type="submit" disabled={chosen === ''}>
        Add gateway
      </button>
    </form>
  );
}

type Member = NonNullable<NonNullable<Pool['status']>['members']>[number];

function MemberTable({ members, onRemove }: { members: readonly Member[]; onRemove: (gateway: string) => void }) {
  return (
    <table>
      <caption>Members</caption>
      <TableHead columns={['Gateway', 'Health', 'Last check', '']} />
      <tbody>
        {members.map((m) => (
          <tr key={m.gateway}>
            <td>{m.gateway}</td>
            <td>
              <GatewayHealth health={m.health} reason={m.reason} /> <span class="reason">{m.reason}</span>
            </td>
            <td>{when(m.checkedAt ?? m.lastHeartbeatAt)}</td>
            <td>
              <button type="button" onClick={() => onRemove(m.gateway ?? '')} aria-label={`Remove ${m.gateway ?? ''}`}>
                Remove
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One pool: its members with their health, add or remove one, delete the pool. */
export function PoolSheet({ session, pool, onChanged, onClose }: { session: Session; pool: Pool; onChanged: () => void; onClose: () => void }) {
  const name = pool.metadata?.name ?? '';
  const [error, setError] = useState<string | undefined>(undefined);
  // Deleting asks once more, inside the sheet.
  const [confirming, setConfirming] = useState(false);
  const done = (failure?: string): void => {
    setError(failure);
    onChanged();
  };
  const remove = async (gateway: string): Promise<void> => {
    try {
      await call(session, 'delete', '/v1/gateway-pools/{name}/memberships/{gateway}', { params: { name, gateway } });
      done();
    } catch (e) {
      done(messageOf(e));
    }
  };
  const deletePool = async (): Promise<void> => {
    try {
      await call(session, 'delete', '/v1/gateway-pools/{name}', { params: { name } });
      onClose();
    } catch (e) {
      done(messageOf(e));
    }
  };
  return (
    <Dialog title={`Pool ${name}`} kind="sheet" onClose={onClose}>
      <p>
        <PoolHealthBadge members={pool.status?.members ?? []} />
      </p>
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <MemberTable members={pool.status?.members ?? []} onRemove={(gateway) => void remove(gateway)} />
      <AddGateway session={session} pool={pool} onAdded={done} />
      {confirming ? (
        <p role="group" aria-label={`Delete pool ${name}?`}>
          Delete pool {name}? Nothing that uses it may remain.{' '}
          <button
            type="button"
            class="danger"
            onClick={() => {
              setConfirming(false);
              void deletePool();
            }}
          >
            Delete
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </p>
      ) : (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Delete pool
        </button>
      )}
    </Dialog>
  );
}
