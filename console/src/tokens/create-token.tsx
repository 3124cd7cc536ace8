import { useState } from 'preact/hooks';
import { slugPattern, slugRule } from '../../../shared/src/slug.ts';
import { ApiError, call, messageOf, type Session } from '../api.ts';
import { FieldError, fieldErrorOf } from '../gateways/field-error.tsx';
import { LifetimeSelect, type Lifetime } from './lifetime-select.tsx';
import { usePolling } from '../use-polling.ts';

/** Lifetimes offered (seconds; null: never). The API's default is 90 days. */
const lifetimes: readonly Lifetime[] = [
  { label: '1 hour', seconds: 3_600 },
  { label: '1 day', seconds: 86_400 },
  { label: '30 days', seconds: 2_592_000 },
  { label: '90 days', seconds: 7_776_000 },
  { label: '1 year', seconds: 31_536_000 },
  { label: 'never', seconds: null },
];

/** Used when the token may not read roles: the built-in ones exist in every org. */
const builtInRoles = ['admin', 'operator', 'viewer'];

function nameProblem(name: string): string | undefined {
  if (name === '') return 'is required';
  return slugPattern.test(name) ? undefined : `must be a slug: ${slugRule}`;
}

export interface Created {
  readonly name: string;
  readonly secret: string;
}

/** Name, role and lifetime; the answer's secret goes straight to `onCreated`, never into this form. */
export function CreateToken({ session, onCreated }: { session: Session; onCreated: (created: Created) => void }) {
  const roles = usePolling(() => call(session, 'get', '/v1/roles'), [session]);
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [lifetime, setLifetime] = useState(3);
  const [submitted, setSubmitted] = useState(false);
  const [error, setError] = useState<ApiError | string | undefined>(undefined);
  const names = roles.data === undefined ? builtInRoles : (roles.data.items ?? []).map((r) => r.metadata?.name ?? '').filter((n) => n !== '');
  const local = submitted || name !== '' ? nameProblem(name) : undefined;
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setSubmitted(true);
    if (nameProblem(name) !== undefined) return;
    try {
      const created = await call(session, 'post', '/v1/tokens', { body: { name, role, expiresInSeconds: lifetimes[lifetime]?.seconds ?? null } });
      setName('');
      setSubmitted(false);
      setError(undefined);
      onCreated({ name: created?.name ?? name, secret: created?.token ?? '' });
    } catch (e) {
      setError(e instanceof ApiError ? e : messageOf(e));
    }
  };
  const nameError = local ?? fieldErrorOf(error, 'name');
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Create token" noValidate>
      <label for="token-name">Name</label>
      <input id="token-name" value={name} aria-invalid={nameError !== undefined} aria-describedby={nameError === undefined ? undefined : 'token-name-error'} onInput={(e) => (setName(e.currentTarget.value), setError(undefined))} />
      <FieldError id="token-name-error" error={nameError === undefined ? undefined : `Name ${nameError}`} />
      <label for="token-role">Role</label>
      <select id="token-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
        {names.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      <FieldError error={fieldErrorOf(error, 'role')} />
      <LifetimeSelect id="token-lifetime" lifetimes={lifetimes} value={lifetime} onChange={setLifetime} />
      <FieldError error={fieldErrorOf(error, 'expiresInSeconds')} />
      <button type="submit">Create token</button>
      <FieldError error={fieldErrorOf(error, undefined)} />
    </form>
  );
}
