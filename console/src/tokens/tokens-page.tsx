import type { Session } from '../api.ts';
import { JoinTokenList } from './join-token-list.tsx';
import { TokenList } from './token-list.tsx';

/** Credentials of the org: API tokens for people and tools, join tokens for runtimes. */
export function TokensPage({ session }: { session: Session }) {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Tokens</h1>
      <TokenList session={session} />
      <JoinTokenList session={session} />
    </section>
  );
}
