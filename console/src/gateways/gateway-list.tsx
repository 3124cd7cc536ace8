import { useState } from 'preact/hooks';
import { ApiError, call, messageOf, type Schemas, type Session } from '../api.ts';
import { usePolling } from '../use-polling.ts';
import { FieldError, fieldErrorOf } from './field-error.tsx';
import { GatewayHealth, when } from './health-badge.tsx';
import { TableHead } from '../table-head.tsx';

function CreateGateway({ session, onCreated }: { session: Session; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [zone, setZone] = useState('default');
  const [error, setError] = useState<ApiError | string | undefined>(undefined);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    try {
      const body = { spec: { url, zone } } as Schemas['Gateway'];
      await call(session, 'put', '/v1/gateways/{name}', { params: { name }, body });
      setName('');
      setUrl('');
      setError(undefined);
      onCreated();
    } catch (e) {
      setError(e instanceof ApiError ? e : messageOf(e));
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Create gateway">
      <label>
        Name <input value={name} onInput={(e) => setName(e.currentTarget.value)} required />
      </label>
      <FieldError error={fieldErrorOf(error, 'metadata.name')} />
      <label>
        URL <input value={url} placeholder="http://10.0.0.1:8080" onInput={(e) => setUrl(e.currentTarget.value)} required />
      </label>
      <FieldError error={fieldErrorOf(error, 'spec.url')} />
      <label>
        Zone <input value={zone} onInput={(e) => setZone(e.currentTarget.value)} />
      </label>
      <FieldError error={fieldErrorOf(error, 'spec.zone')} />
      <button type="submit">Create gateway</button>
      <FieldError error={fieldErrorOf(error, undefined)} />
    </form>
  );
}

function GatewayTable({ gateways, onDelete }: { gateways: readonly Schemas['Gateway'][]; onDelete: (name: string) => void }) {
  return (
    <table>
      <caption class="visually-hidden">Gateways</caption>
      <TableHead columns={['Name', 'URL', 'Zone', 'Health', 'Last heartbeat', 'Last check', '']} />
      <tbody>
        {gateways.map((g) => (
          <tr key={g.metadata?.name}>
            <td>{g.metadata?.name}</td>
            <td>{g.spec.url}</td>
            <td>{g.spec.zone}</td>
            <td>
              <GatewayHealth health={g.status?.health} reason={g.status?.reason} /> <span class="reason">{g.status?.reason}</span>
            </td>
            <td>{when(g.status?.lastHeartbeatAt)}</td>
            <td>{when(g.status?.checkedAt)}</td>
            <td>
              <button type="button" onClick={() => onDelete(g.metadata?.name ?? '')} aria-label={`Delete gateway ${g.metadata?.name ?? ''}`}>
                Delete
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Every gateway of the org with its health, why, and when it was last seen. */
export function GatewayList({ session }: { session: Session }) {
  const gateways = usePolling(() => call(session, 'get', '/v1/gateways'), [session]);
  const [error, setError] = useState<string | undefined>(undefined);
  const remove = async (name: string): Promise<void> => {
    try {
      await call(session, 'delete', '/v1/gateways/{name}', { params: { name } });
      setError(undefined);
    } catch (e) {
      setError(messageOf(e));
    }
    gateways.reload();
  };
  return (
    <>
      <CreateGateway session={session} onCreated={gateways.reload} />
      {(error ?? gateways.error) !== undefined && <p class="error" role="alert">{error ?? gateways.error}</p>}
      <GatewayTable gateways={gateways.data?.items ?? []} onDelete={(name) => void remove(name)} />
      {gateways.data !== undefined && (gateways.data.items ?? []).length === 0 && <p>No gateways yet.</p>}
    </>
  );
}
