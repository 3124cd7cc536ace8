import { useEffect, useState } from 'preact/hooks';
import { call, messageOf, type Session } from '../api.ts';
import { PageNav, useCursorPages } from '../cursor-pages.tsx';
import { TableHead } from '../table-head.tsx';

interface Filters {
  readonly resource: string;
  readonly action: string;
  readonly actor: string;
}

type Page = NonNullable<Awaited<ReturnType<typeof loadPage>>>;
type Event = NonNullable<Page['items']>[number];

function loadPage(session: Session, filters: Filters, cursor: string | undefined) {
  return call(session, 'get', '/v1/audit-events', { query: { ...filters, limit: '25', cursor } });
}

function FilterForm({ onApply }: { onApply: (filters: Filters) => void }) {
  const [draft, setDraft] = useState<Filters>({ resource: '', action: '', actor: '' });
  const input = (key: keyof Filters, label: string, placeholder: string) => (
    <label>
      {label} <input value={draft[key]} placeholder={placeholder} onInput={(e) => setDraft({ ...draft, [key]: e.currentTarget.value })} />
    </label>
  );
  return (
    <form
      class="inline-form"
      aria-label="Filter audit events"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(draft);
      }}
    >
      {input('resource', 'Resource', 'api/orders or api')}
      {input('action', 'Action', 'api.rollback')}
      {input('actor', 'Actor', 'token id or name')}
      <button type="submit">Filter</button>
    </form>
  );
}

function EventRow({ event }: { event: Event }) {
  const changes = (event.changes ?? []).map((c) => c.field).join(', ');
  return (
    <tr>
      <td>{event.at === undefined ? '' : new Date(event.at).toLocaleString()}</td>
      <td>{event.actor?.name ?? event.actor?.id ?? event.actor?.kind}</td>
      <td>{event.action}</td>
      <td>
        {event.resource?.kind}/{event.resource?.name}
      </td>
      <td>{event.outcome}</td>
      <td>{event.revision ?? ''}</td>
      <td class="reason">{changes}</td>
    </tr>
  );
}

/** Who did what, newest first: filters, and pages that follow the API's cursor. */
export function AuditPage({ session }: { session: Session }) {
  const [filters, setFilters] = useState<Filters>({ resource: '', action: '', actor: '' });
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const [loaded, setLoaded] = useState<{ cursor: string | undefined; page: Page } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let live = true;
    loadPage(session, filters, cursor).then(
      (p) => live && (setLoaded({ cursor, page: p }), setError(undefined)),
      (e: unknown) => live && setError(messageOf(e)),
    );
    return () => {
      live = false;
    };
  }, [session, filters, cursor]);
  // Until the page asked for arrives, the one before is not shown (nor its next page offered).
  const page = loaded?.cursor === cursor ? loaded?.page : undefined;
  const next = page?.nextCursor ?? undefined;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Audit log</h1>
      <FilterForm onApply={(f) => (setFilters(f), pages.first())} />
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      <table>
        <caption class="visually-hidden">Audit events, newest first</caption>
        <TableHead columns={['When', 'Actor', 'Action', 'Resource', 'Outcome', 'Revision', 'Fields changed']} />
        <tbody>
          {(page?.items ?? []).map((event) => (
            <EventRow key={event.id} event={event} />
          ))}
        </tbody>
      </table>
      {page !== undefined && (page.items ?? []).length === 0 && <p>No events match.</p>}
      <PageNav label="Audit pages" pages={pages} next={next} words={['Newer', 'Older']} />
    </section>
  );
}
