import { useEffect, useState } from 'preact/hooks';
import type { Session } from '../api.ts';
import { PageNav, useCursorPages } from '../cursor-pages.tsx';
import { TableHead } from '../table-head.tsx';
import { AllocateForm } from './allocate-form.tsx';
import { AllocationBadge, at } from './allocation-badges.tsx';
import { AllocationDetail } from './allocation-detail.tsx';
import { useAllocations, type Allocation } from './use-allocations.ts';

function AllocationRow({ allocation: a, onOpen }: { allocation: Allocation; onOpen: () => void }) {
  return (
    <tr data-allocation={a.id} data-tenant={a.tenant}>
      <td>
        <button type="button" class="link" onClick={onOpen} aria-label={`Open allocation ${a.id ?? ''} of ${a.tenant ?? ''}`}>
          {a.tenant}
        </button>
      </td>
      <td>{a.pool}</td>
      <td>{a.gateway ?? '—'}</td>
      <td>{a.host}</td>
      <td>
        <AllocationBadge state={a.state} />
      </td>
      <td>{at(a.createdAt)}</td>
    </tr>
  );
}

/**
 * Dedicated gateways of tenants: allocate one from a pool, watch its steps, release it. The
 * allocation being made is opened as soon as the list shows it (found by the request's
 * idempotency key), so its steps are watched while the request still runs.
 */
export function AllocationsPage({ session }: { session: Session }) {
  const [requests, setRequests] = useState(0);
  const [waitingFor, setWaitingFor] = useState<string | undefined>(undefined);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const pages = useCursorPages();
  const allocations = useAllocations(session, requests > 0, pages.cursor);
  const items = allocations.items ?? [];
  const busy = (b: boolean): void => {
    setRequests((n) => n + (b ? 1 : -1));
    if (!b) allocations.reload();
  };
  useEffect(() => {
    const found = waitingFor === undefined ? undefined : items.find((a) => a.idempotencyKey === waitingFor);
    if (found?.id !== undefined) setOpen(found.id);
  }, [waitingFor, items]);
  const opened = items.find((a) => a.id === open);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Allocations</h1>
      <AllocateForm
        session={session}
        changes={items.map((a) => `${a.id ?? ''}:${a.state ?? ''}`).join()}
        onStarted={(key) => {
          // A new allocation is the newest: on the first page.
          pages.first();
          busy(true);
          setWaitingFor(key);
        }}
        onEnded={(key, made) => {
          busy(false);
          // The tenant's existing allocation answers with another key: open it by id.
          if (made?.id !== undefined) setOpen(made.id);
          setWaitingFor((k) => (k === key && made !== undefined ? undefined : k));
        }}
      />
      {allocations.error !== undefined && <p class="error" role="alert">{allocations.error}</p>}
      <table>
        <caption class="visually-hidden">Allocations, newest first</caption>
        <TableHead columns={['Tenant', 'Pool', 'Gateway', 'Host', 'State', 'Created']} />
        <tbody>
          {items.map((a) => (
            <AllocationRow key={a.id} allocation={a} onOpen={() => (setOpen(a.id), setWaitingFor(undefined))} />
          ))}
        </tbody>
      </table>
      {allocations.items !== undefined && items.length === 0 && pages.number === 1 && <p>No allocations yet.</p>}
      {(pages.number > 1 || allocations.nextCursor !== undefined) && <PageNav label="Allocation pages" pages={pages} next={allocations.nextCursor} words={['Newer', 'Older']} />}
      {opened !== undefined && <AllocationDetail key={opened.id} session={session} allocation={opened} onBusy={busy} onClose={() => (setOpen(undefined), setWaitingFor(undefined))} />}
    </section>
  );
}
