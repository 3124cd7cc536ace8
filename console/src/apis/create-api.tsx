import { useState } from 'preact/hooks';
import { ApiError, call, messageOf, type Schemas, type Session } from '../api.ts';
import { FieldError, fieldErrorOf } from '../gateways/field-error.tsx';
import { GatewayPicker, upstreamWarning, usePools, type Upstream } from './gateway-picker.tsx';

/** A name, a base path and an upstream; a pool with no healthy member asks once more before saving. */
export function CreateApi({ session, onCreated }: { session: Session; onCreated: (name: string) => void }) {
  const pools = usePools(session);
  const [name, setName] = useState('');
  const [basePath, setBasePath] = useState('/');
  const [upstream, setUpstream] = useState<Upstream | undefined>(undefined);
  const [confirmed, setConfirmed] = useState<Upstream | undefined>(undefined);
  const [error, setError] = useState<ApiError | string | undefined>(undefined);
  const warning = upstreamWarning(upstream, pools.data?.items ?? []);
  const needsConfirm = warning !== undefined && confirmed !== upstream;
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (upstream === undefined) return setError('Choose an upstream');
    if (needsConfirm) return setConfirmed(upstream);
    try {
      const body = { spec: { basePath, upstream } } as Schemas['Api'];
      await call(session, 'put', '/v1/apis/{name}', { params: { name }, body });
      setError(undefined);
      setName('');
      setUpstream(undefined);
      onCreated(name);
    } catch (e) {
      setError(e instanceof ApiError ? e : messageOf(e));
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Create API">
      <label>
        API name <input value={name} onInput={(e) => setName(e.currentTarget.value)} required />
      </label>
      <FieldError error={fieldErrorOf(error, 'metadata.name')} />
      <label>
        Base path <input value={basePath} onInput={(e) => setBasePath(e.currentTarget.value)} required />
      </label>
      <FieldError error={fieldErrorOf(error, 'spec.basePath')} />
      <GatewayPicker session={session} pools={pools.data?.items ?? []} value={upstream} onChange={(u) => (setUpstream(u), setError(undefined))} />
      <FieldError error={fieldErrorOf(error, 'spec.upstream')} />
      {warning !== undefined && (
        <p class="warning" role="alert">
          {warning} {needsConfirm ? '' : 'Save again to create it anyway.'}
        </p>
      )}
      <button type="submit">{warning !== undefined && !needsConfirm ? 'Create API anyway' : 'Create API'}</button>
      <FieldError error={fieldErrorOf(error, undefined)} />
    </form>
  );
}
