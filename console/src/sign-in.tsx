import { useState } from 'preact/hooks';
import { ApiError, call, messageOf, type Session } from './api.ts';

/** A token, checked once against the API before it is kept for this tab. */
export function SignIn({ onSignIn }: { onSignIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const session = { token: token.trim(), org: undefined };
    try {
      await call(session, 'get', '/v1/gateway-pools');
      onSignIn(session);
    } catch (e) {
      // A token that may not read pools is still a token: it signs in.
      if (e instanceof ApiError && e.status === 403) onSignIn(session);
      else setError(e instanceof ApiError && e.status === 401 ? 'This token is not accepted.' : messageOf(e));
    }
  };
  return (
    <main class="sign-in">
      <h1>Causeway console</h1>
      <form onSubmit={submit}>
        <label for="token">Admin API token</label>
        <input id="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} aria-describedby={error === undefined ? undefined : 'token-error'} required />
        {error !== undefined && (
          <p id="token-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit">Sign in</button>
        <p class="hint">Kept for this tab only; closing it signs you out.</p>
      </form>
    </main>
  );
}
