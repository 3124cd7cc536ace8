import { useState } from 'preact/hooks';
import { call, type Schemas, type Session } from '../api.ts';
import { PageNav, useCursorPages } from '../cursor-pages.tsx';
import { usePolling } from '../use-polling.ts';
import { ApiDetail } from './api-detail.tsx';
import { CreateApi } from './create-api.tsx';
import { DeploymentSummary, useDeploymentStatus } from './deployment-status.tsx';
import { TableHead } from '../table-head.tsx';

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

/** Rows on a page: each reads its deployment status every 2 s, so a page stays small whatever the org holds. */
const PAGE_SIZE = 25;

/** The org's APIs by name, a page at a time, with where each is deployed; one opened below the list. */
export function ApisPage({ session }: { session: Session }) {
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const apis = usePolling(async () => ({ cursor, list: await call(session, 'get', '/v1/apis', { query: { limit: String(PAGE_SIZE), cursor } }) }), [session, cursor]);
  const [open, setOpen] = useState<string | undefined>(undefined);
  // Until the page asked for arrives, the one before is not shown (nor its next page offered).
  const shown = apis.data?.cursor === cursor ? apis.data?.list : undefined;
  const items = shown?.items ?? [];
  const next = shown?.nextCursor ?? undefined;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">APIs</h1>
      <CreateApi
        session={session}
        onCreated={(name) => {
          pages.first();
          apis.reload();
          setOpen(name);
        }}
      />
      {apis.error !== undefined && <p class="error" role="alert">{apis.error}</p>}
      <table>
        <caption class="visually-hidden">APIs</caption>
        <TableHead columns={['Name', 'Base path', 'Upstream', 'Revision', 'Deployment']} />
        <tbody>
          {items.map((api) => (
            <ApiRow key={api.metadata?.name} session={session} api={api} onOpen={() => setOpen(api.metadata?.name)} />
          ))}
        </tbody>
      </table>
      {shown !== undefined && items.length === 0 && pages.number === 1 && <p>No APIs yet.</p>}
      {(pages.number > 1 || next !== undefined) && <PageNav label="API pages" pages={pages} next={next} words={['Previous', 'Next']} />}
      {open !== undefined && <ApiDetail key={open} session={session} name={open} onClose={() => setOpen(undefined)} />}
    </section>
  );
}
