import { useState } from 'preact/hooks';
import { slugPattern, slugRule } from '../../../shared/src/slug.ts';
import { ApiError, call, messageOf, type Session } from '../api.ts';
import { FieldError, fieldErrorOf } from '../gateways/field-error.tsx';
import { usePolling } from '../use-polling.ts';
import type { Allocation } from './use-allocations.ts';

/**
 * A key of this attempt: the page finds the allocation by it while the request still runs,
 * and a second click cannot take a second gateway. `crypto.randomUUID` needs a secure context,
 * which a console reached over plain HTTP on a LAN address is not.
 */
function attemptKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function tenantProblem(tenant: string): string | undefined {
  if (tenant === '') return 'is required';
  return slugPattern.test(tenant) ? undefined : `must be a slug: ${slugRule}`;
}

/** The org's pools, each with how many members an allocation could take now. */
function PoolPicker({ session, changes, value, missing, onChange }: { session: Session; changes: string; value: string; missing: boolean; onChange: (pool: string) => void }) {
  const pools = usePolling(() => call(session, 'get', '/v1/gateway-pools'), [session, changes]);
  return (
    <>
      <label for="allocation-pool">Pool</label>
      <select id="allocation-pool" value={value} aria-invalid={missing} aria-describedby={missing ? 'allocation-pool-error' : undefined} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">Choose a pool…</option>
        {(pools.data?.items ?? []).map((p) => (
          <option key={p.metadata?.name} value={p.metadata?.name}>
            {p.metadata?.name} ({p.status?.freeCount ?? 0} free)
          </option>
        ))}
      </select>
      <FieldError id="allocation-pool-error" error={missing ? 'Choose a pool' : undefined} />
    </>
  );
}

export interface AllocateFormProps {
  readonly session: Session;
  /** The request left: its idempotency key. */
  readonly onStarted: (key: string) => void;
  /** The request ended: the allocation it made or found, or undefined when it failed. */
  readonly onEnded: (key: string, allocation: Allocation | undefined) => void;
  /** Changes whenever an allocation does: the pools' free counts are read again then. */
  readonly changes: string;
}

/** Pool picker and tenant: one request runs every step, so the form stays busy until it ends. */
export function AllocateForm({ session, onStarted, onEnded, changes }: AllocateFormProps) {
  const [pool, setPool] = useState('');
  const [tenant, setTenant] = useState('');
  const [busy, setBusy] = useState(false);
  const [submitted, setSubmitted] = useState(false);
  const [error, setError] = useState<ApiError | string | undefined>(undefined);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setSubmitted(true);
    if (pool === '' || tenantProblem(tenant) !== undefined) return;
    const key = attemptKey();
    setBusy(true);
    setError(undefined);
    onStarted(key);
    let made: Allocation | undefined;
    try {
      made = await call(session, 'post', '/v1/gateway-pools/{name}/allocations', { params: { name: pool }, body: { tenant, idempotencyKey: key } });
      setTenant('');
      setSubmitted(false);
    } catch (e) {
      setError(e instanceof ApiError ? e : messageOf(e));
    }
    setBusy(false);
    onEnded(key, made);
  };
  const tenantError = (submitted || tenant !== '' ? tenantProblem(tenant) : undefined) ?? fieldErrorOf(error, 'tenant');
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Allocate a gateway" noValidate>
      <PoolPicker session={session} changes={changes} value={pool} missing={submitted && pool === ''} onChange={setPool} />
      <label for="allocation-tenant">Tenant</label>
      <input
        id="allocation-tenant"
        value={tenant}
        aria-invalid={tenantError !== undefined}
        aria-describedby={tenantError === undefined ? undefined : 'allocation-tenant-error'}
        onInput={(e) => setTenant(e.currentTarget.value)}
      />
      <FieldError id="allocation-tenant-error" error={tenantError === undefined ? undefined : `Tenant ${tenantError}`} />
      <button type="submit" disabled={busy}>
        {busy ? 'Allocating…' : 'Allocate'}
      </button>
      <FieldError error={fieldErrorOf(error, undefined)} />
    </form>
  );
}
