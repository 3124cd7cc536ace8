import { useEffect, useState } from 'preact/hooks';
import { call, loadSession, saveSession, type Session } from './api.ts';
import { SignIn } from './sign-in.tsx';
import { GatewaysPage } from './gateways/gateways-page.tsx';
import { ApisPage } from './apis/apis-page.tsx';
import { AuditPage } from './audit/audit-page.tsx';
import { ZonesPage } from './zones/zones-page.tsx';
import { RuntimesPage } from './runtimes/runtimes-page.tsx';
import { ControllersPage } from './controllers/controllers-page.tsx';
import { AllocationsPage } from './allocations/allocations-page.tsx';
import { TokensPage } from './tokens/tokens-page.tsx';

const pages = { gateways: 'Gateways', apis: 'APIs', zones: 'Zones', runtimes: 'Runtimes', controllers: 'Controllers', allocations: 'Allocations', tokens: 'Tokens', audit: 'Audit log' } as const;
type PageId = keyof typeof pages;

function pageOf(hash: string): PageId {
  const id = hash.replace(/^#/, '');
  return id in pages ? (id as PageId) : 'gateways';
}

/** The page the URL's fragment names: links and the back button work without a router. */
function usePage(): PageId {
  const [page, setPage] = useState<PageId>(() => pageOf(location.hash));
  useEffect(() => {
    const onChange = (): void => setPage(pageOf(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return page;
}

/** Orgs a system administrator may switch to; undefined for everyone else (GET /v1/orgs is refused). */
function useOrgs(session: Session | undefined): readonly string[] | undefined {
  const [orgs, setOrgs] = useState<readonly string[] | undefined>(undefined);
  const token = session?.token;
  useEffect(() => {
    setOrgs(undefined);
    if (token === undefined) return;
    call({ token, org: undefined }, 'get', '/v1/orgs').then(
      (list) => setOrgs((list?.items ?? []).map((o) => o.metadata?.name ?? '').filter((n) => n !== '')),
      () => setOrgs(undefined),
    );
  }, [token]);
  return orgs;
}

interface HeaderProps {
  session: Session;
  page: PageId;
  orgs: readonly string[] | undefined;
  onChange: (s: Session | undefined) => void;
}

function Header({ session, page, orgs, onChange }: HeaderProps) {
  return (
    <header class="top">
      <strong class="brand">Causeway</strong>
      <nav aria-label="Pages">
        {Object.entries(pages).map(([id, title]) => (
          <a key={id} href={`#${id}`} aria-current={id === page ? 'page' : undefined}>
            {title}
          </a>
        ))}
      </nav>
      <span class="spacer" />
      {orgs !== undefined && (
        <label>
          Org{' '}
          <select value={session.org ?? 'default'} onChange={(e) => onChange({ ...session, org: e.currentTarget.value })}>
            {orgs.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
      )}
      <button type="button" onClick={() => onChange(undefined)}>
        Sign out
      </button>
    </header>
  );
}

export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const change = (next: Session | undefined): void => {
    saveSession(next);
    setSession(next);
  };
  const orgs = useOrgs(session);
  const page = usePage();
  if (session === undefined) return <SignIn onSignIn={change} />;
  const key = session.org ?? '';
  return (
    <>
      <Header session={session} page={page} orgs={orgs} onChange={change} />
      <main>
        {page === 'gateways' && <GatewaysPage key={key} session={session} />}
        {page === 'apis' && <ApisPage key={key} session={session} />}
        {page === 'audit' && <AuditPage key={key} session={session} />}
        {page === 'zones' && <ZonesPage key={key} session={session} canWrite={orgs !== undefined} />}
        {page === 'runtimes' && <RuntimesPage key={key} session={session} systemAdmin={orgs !== undefined} />}
        {page === 'controllers' && <ControllersPage key={key} session={session} />}
        {page === 'allocations' && <AllocationsPage key={key} session={session} />}
        {page === 'tokens' && <TokensPage key={key} session={session} />}
      </main>
    </>
  );
}
