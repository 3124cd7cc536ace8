import { useEffect, useState } from 'preact/hooks';
import { call, loadSession, saveSession, type Session } from './api.ts';
import { SignIn } from './sign-in.tsx';
import { GatewaysPage } from './gateways/gateways-page.tsx';

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

function Header({ session, orgs, onChange }: { session: Session; orgs: readonly string[] | undefined; onChange: (s: Session | undefined) => void }) {
  return (
    <header class="top">
      <strong class="brand">Causeway</strong>
      <nav aria-label="Pages">
        <a href="#gateways" aria-current="page">
          Gateways
        </a>
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
  if (session === undefined) return <SignIn onSignIn={change} />;
  return (
    <>
      <Header session={session} orgs={orgs} onChange={change} />
      <main>
        <GatewaysPage key={session.org ?? ''} session={session} />
      </main>
    </>
  );
}
