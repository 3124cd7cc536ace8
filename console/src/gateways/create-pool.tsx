import { useState } from 'preact/hooks';
import { slugPattern, slugRule } from '../../../shared/src/slug.ts';
import { ApiError, call, messageOf, type Schemas, type Session } from '../api.ts';
import { FieldError, fieldErrorOf } from './field-error.tsx';

/** What is wrong with a name before the server is asked; the server still has the last word. */
function nameProblem(name: string, existing: readonly string[]): string | undefined {
  if (name === '') return 'is required';
  if (!slugPattern.test(name)) return `must be a slug: ${slugRule}`;
  if (existing.includes(name)) return `a pool named ${name} exists already`;
  return undefined;
}

export function CreatePool({ session, existing, onCreated }: { session: Session; existing: readonly string[]; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<ApiError | string | undefined>(undefined);
  const [touched, setTouched] = useState(false);
  const local = touched ? nameProblem(name, existing) : undefined;
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setTouched(true);
    if (nameProblem(name, existing) !== undefined) return;
    try {
      await call(session, 'post', '/v1/gateway-pools', { body: { metadata: { name }, spec: { members: [] } } as unknown as Schemas['GatewayPool'] });
      setName('');
      setTouched(false);
      setError(undefined);
      onCreated();
    } catch (e) {
      setError(e instanceof ApiError ? e : messageOf(e));
    }
  };
  // The server's answer about the name (a 409 names no field: it is about the name too).
  const server = fieldErrorOf(error, 'metadata.name') ?? fieldErrorOf(error, undefined);
  const shown = local ?? server;
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Create pool" noValidate>
      <label for="pool-name">Pool name</label>
      <input
        id="pool-name"
        value={name}
        aria-invalid={shown !== undefined}
        aria-describedby={shown === undefined ? undefined : 'pool-name-error'}
        onInput={(e) => {
          setName(e.currentTarget.value);
          setError(undefined);
        }}
        onBlur={() => setTouched(name !== '')}
      />
      <FieldError id="pool-name-error" error={shown === undefined ? undefined : `Name ${shown}`} />
      <button type="submit">Create pool</button>
    </form>
  );
}
