import { useState } from 'preact/hooks';
import { ApiError, call, messageOf, type Session } from '../api.ts';
import { FieldError, fieldErrorOf } from '../gateways/field-error.tsx';
import { LifetimeSelect, type Lifetime } from './lifetime-select.tsx';
import type { Created } from './create-token.tsx';

/** Join tokens live from a minute to a year; joined runtimes keep renewing after it ends. */
const lifetimes: readonly Lifetime[] = [
  { label: '1 hour', seconds: 3_600 },
  { label: '1 day', seconds: 86_400 },
  { label: '7 days', seconds: 604_800 },
  { label: '30 days', seconds: 2_592_000 },
  { label: '1 year', seconds: 31_536_000 },
];

/** `env=prod, tier=edge` as a map, or what is wrong with it; the API checks keys and values. */
function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return `"${part}" is not key=value`;
    labels[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return labels;
}

/** Zone, labels, lifetime, and for system administrators a shared runtime's token (org null). */
export function CreateJoinToken({ session, onCreated }: { session: Session; onCreated: (created: Created) => void }) {
  const [zone, setZone] = useState('default');
  const [labels, setLabels] = useState('');
  const [shared, setShared] = useState(false);
  const [lifetime, setLifetime] = useState(1);
  const [error, setError] = useState<ApiError | string | undefined>(undefined);
  const parsed = parseLabels(labels);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (typeof parsed === 'string') return;
    const expiresInSeconds = lifetimes[lifetime]?.seconds ?? 86_400;
    try {
      const created = await call(session, 'post', '/v1/runtime-tokens', { body: { zone, labels: parsed, expiresInSeconds, ...(shared ? { org: null } : {}) } });
      setLabels('');
      setError(undefined);
      onCreated({ name: `zone ${created?.zone ?? zone}`, secret: created?.token ?? '' });
    } catch (e) {
      setError(e instanceof ApiError ? e : messageOf(e));
    }
  };
  const labelsError = typeof parsed === 'string' ? parsed : fieldErrorOf(error, 'labels');
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Create join token" noValidate>
      <label for="join-zone">Zone</label>
      <input id="join-zone" value={zone} onInput={(e) => (setZone(e.currentTarget.value), setError(undefined))} />
      <FieldError error={fieldErrorOf(error, 'zone')} />
      <label for="join-labels">Labels</label>
      <input
        id="join-labels"
        value={labels}
        placeholder="env=prod, tier=edge"
        aria-invalid={labelsError !== undefined}
        aria-describedby={labelsError === undefined ? undefined : 'join-labels-error'}
        onInput={(e) => (setLabels(e.currentTarget.value), setError(undefined))}
      />
      <FieldError id="join-labels-error" error={labelsError === undefined ? undefined : `Labels: ${labelsError}`} />
      <label>
        <input type="checkbox" checked={shared} onChange={(e) => setShared(e.currentTarget.checked)} /> Shared runtime (every org; system administrators only)
      </label>
      <LifetimeSelect id="join-lifetime" lifetimes={lifetimes} value={lifetime} onChange={setLifetime} />
      <button type="submit">Create join token</button>
      <FieldError error={fieldErrorOf(error, undefined)} />
    </form>
  );
}
