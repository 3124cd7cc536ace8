import { useState } from 'preact/hooks';
import { call, type Session } from '../api.ts';
import type { operations } from '../gen/admin-api.ts';
import { usePolling } from '../use-polling.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';
import { CreateToken, type Created } from './create-token.tsx';
import { SecretDialog } from './secret-dialog.tsx';
import { TableHead } from '../table-head.tsx';
import { useConfirmedAction } from './use-confirmed-action.ts';

type Token = NonNullable<operations['listTokens']['responses'][200]['content']['application/json']['items']>[number];

const stateTones: Record<NonNullable<Token['state']>, string> = { active: 'green', expired: 'grey', revoked: 'red' };

export function when(at: string | null | undefined, never = 'never'): string {
  return at === null || at === undefined ? never : new Date(at).toLocaleString();
}

function TokenRow({ token: t, onRevoke }: { token: Token; onRevoke: () => void }) {
  return (
    <tr data-token={t.id}>
      <td>{t.name}</td>
      <td>{t.role ?? `heartbeat of gateway ${t.gateway ?? ''}`}</td>
      <td>
        <span class={`badge ${stateTones[t.state ?? 'active']}`}>{t.state}</span>
      </td>
      <td>{t.createdBy}</td>
      <td>{when(t.createdAt)}</td>
      <td>{when(t.expiresAt)}</td>
      <td>{when(t.lastUsedAt)}</td>
      <td>
        {t.state === 'active' && (
          <button type="button" onClick={onRevoke} aria-label={`Revoke token ${t.name ?? ''}`}>
            Revoke
          </button>
        )}
      </td>
    </tr>
  );
}

/** The org's API tokens (never their secrets): create one, whose secret is shown once, or revoke one. */
export function TokenList({ session }: { session: Session }) {
  const tokens = usePolling(() => call(session, 'get', '/v1/tokens'), [session]);
  const [created, setCreated] = useState<Created | undefined>(undefined);
  const revocation = useConfirmedAction((token: Token) => call(session, 'delete', '/v1/tokens/{id}', { params: { id: token.id ?? '' } }), tokens.reload);
  const revoking = revocation.pending;
  const error = revocation.error;
  const items = tokens.data?.items ?? [];
  return (
    <section aria-labelledby="api-tokens-title">
      <h2 id="api-tokens-title">API tokens</h2>
      <CreateToken
        session={session}
        onCreated={(c) => {
          setCreated(c);
          tokens.reload();
        }}
      />
      {(error ?? tokens.error) !== undefined && <p class="error" role="alert">{error ?? tokens.error}</p>}
      <table>
        <caption class="visually-hidden">API tokens</caption>
        <TableHead columns={['Name', 'Role', 'State', 'Created by', 'Created', 'Expires', 'Last used', '']} />
        <tbody>
          {items.map((t) => (
            <TokenRow key={t.id} token={t} onRevoke={() => revocation.ask(t)} />
          ))}
        </tbody>
      </table>
      {tokens.data !== undefined && items.length === 0 && <p>No tokens yet.</p>}
      {created !== undefined && <SecretDialog title={`Token ${created.name} created`} secret={created.secret} onClose={() => setCreated(undefined)} />}
      {revoking !== undefined && (
        <ConfirmDialog title={`Revoke token ${revoking.name ?? ''}?`} action="Revoke" onConfirm={() => void revocation.confirm(revoking)} onCancel={revocation.cancel}>
          <p>Every controller refuses it within a second; whatever uses it stops working. It cannot be restored.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
