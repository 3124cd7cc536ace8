import { useState } from 'preact/hooks';
import { call, type Schemas, type Session } from '../api.ts';
import { usePolling } from '../use-polling.ts';
import { ApiDetail } from './api-detail.tsx';
import { CreateApi } from './create-api.tsx';
import { DeploymentSummary, useDeploymentStatus } from './deployment-status.tsx';

type Api = Schemas['Api'];

function ApiRow({ session, api, onOpen }: { session: Session; api: Api; onOpen: () => void }) {
  const name = api.metadata?.name ?? '';
  const status = useDeploymentStatus(session, name);
  const upstream = api.spec.upstream;
  return (
    <tr data-api={name}>
      <td>
        <button type="button" class="link" onClick={onOpen} aria-label={`Open API ${name}`}>
          {name}
        </button>
      </td>
      <td>{api.spec.basePath}</td>
      <td>{'pool' in upstream ? `pool ${upstream.pool}` : `gateway ${upstream.gateway}`}</td>
      <td>{api.metadata?.revision}</td>
      <td>
        <DeploymentSummary status={status.data} />
      </td>
    </tr>
  );
}

/** The org's APIs with where each is deployed; one opened below the list. */
export function ApisPage({ session }: { session: Session }) {
  const apis = usePolling(() => call(session, 'get', '/v1/apis'), [session]);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const items = apis.data?.items ?? [];
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">APIs</h1>
      <CreateApi
        session={session}
        onCreated={(name) => {
          apis.reload();
          setOpen(name);
        }}
      />
      {apis.error !== undefined && <p class="error" role="alert">{apis.error}</p>}
      <table>
        <caption class="visually-hidden">APIs</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Base path</th>
            <th scope="col">Upstream</th>
            <th scope="col">Revision</th>
            <th scope="col">Deployment</th>
          </tr>
        </thead>
        <tbody>
          {items.map((api) => (
            <ApiRow key={api.metadata?.name} session={session} api={api} onOpen={() => setOpen(api.metadata?.name)} />
          ))}
        </tbody>
      </table>
      {apis.data !== undefined && items.length === 0 && <p>No APIs yet.</p>}
      {open !== undefined && <ApiDetail key={open} session={session} name={open} onClose={() => setOpen(undefined)} />}
    </section>
  );
}
