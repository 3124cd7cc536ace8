import { useState } from 'preact/hooks';
import { call, type Session } from '../api.ts';
import type { operations } from '../gen/admin-api.ts';
import { usePolling } from '../use-polling.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';
import { CreateJoinToken } from './create-join-token.tsx';
import type { Created } from './create-token.tsx';
import { SecretDialog } from './secret-dialog.tsx';
import { TableHead } from '../table-head.tsx';
import { useConfirmedAction } from './use-confirmed-action.ts';
import { when } from './token-list.tsx';

type JoinToken = NonNullable<operations['listRuntimeTokens']['responses'][200]['content']['application/json']['items']>[number];

const stateTones: Record<NonNullable<JoinToken['state']>, string> = { active: 'green', expired: 'grey', deleted: 'red' };

function JoinTokenRow({ token: t, onDelete }: { token: JoinToken; onDelete: () => void }) {
  const labels = Object.entries(t.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  return (
    <tr data-join-token={t.id}>
      <td>
        <code>{t.id}</code>
      </td>
      <td>{t.zone}</td>
      <td>{t.org ?? 'shared (every org)'}</td>
      <td>{labels.length === 0 ? '—' : labels.join(', ')}</td>
      <td>
        <span class={`badge ${stateTones[t.state ?? 'active']}`}>{t.state}</span>
      </td>
      <td>{t.createdBy}</td>
      <td>{when(t.expiresAt)}</td>
      <td>
        {t.state === 'active' && (
          <button type="button" onClick={onDelete} aria-label={`Delete join token ${t.id ?? ''}`}>
            Delete
          </button>
        )}
      </td>
    </tr>
  );
}

/** Tokens a runtime joins with (never their secrets): create one, shown once, or delete one. */
export function JoinTokenList({ session }: { session: Session }) {
  const tokens = usePolling(() => call(session, 'get', '/v1/runtime-tokens'), [session]);
  const [created, setCreated] = useState<Created | undefined>(undefined);
  const deletion = useConfirmedAction((token: JoinToken) => call(session, 'delete', '/v1/runtime-tokens/{id}', { params: { id: token.id ?? '' } }), tokens.reload);
  const deleting = deletion.pending;
  const error = deletion.error;
  const items = tokens.data?.items ?? [];
  return (
    <section aria-labelledby="join-tokens-title">
      <h2 id="join-tokens-title">Runtime join tokens</h2>
      <CreateJoinToken
        session={session}
        onCreated={(c) => {
          setCreated(c);
          tokens.reload();
        }}
      />
      {(error ?? tokens.error) !== undefined && <p class="error" role="alert">{error ?? tokens.error}</p>}
      <table>
        <caption class="visually-hidden">Runtime join tokens</caption>
        <TableHead columns={['ID', 'Zone', 'Org', 'Labels', 'State', 'Created by', 'Expires', '']} />
        <tbody>
          {items.map((t) => (
            <JoinTokenRow key={t.id} token={t} onDelete={() => deletion.ask(t)} />
          ))}
        </tbody>
      </table>
      {tokens.data !== undefined && items.length === 0 && <p>No join tokens yet.</p>}
      {created !== undefined && <SecretDialog title={`Join token for ${created.name} created`} secret={created.secret} onClose={() => setCreated(undefined)} />}
      {deleting !== undefined && (
        <ConfirmDialog title={`Delete join token ${deleting.id ?? ''}?`} action="Delete" onConfirm={() => void deletion.confirm(deleting)} onCancel={deletion.cancel}>
          <p>No new runtime joins with it; runtimes that joined with it keep their certificates.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
