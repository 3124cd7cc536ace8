import type { ComponentChildren } from 'preact';
import { call, type Session } from '../api.ts';
import { usePolling } from '../use-polling.ts';
import { DeploymentStatus } from './deployment-status.tsx';
import { Revisions } from './revisions.tsx';

function Field({ name, children }: { name: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** One API: its routes, upstream, failover and policies, where it is deployed, and its revisions. */
export function ApiDetail({ session, name, onClose }: { session: Session; name: string; onClose: () => void }) {
  const api = usePolling(() => call(session, 'get', '/v1/apis/{name}', { params: { name } }), [session, name]);
  const spec = api.data?.spec;
  return (
    <section class="detail" aria-labelledby="api-title">
      <div class="panel-head">
        <h2 id="api-title">API {name}</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {api.error !== undefined && <p class="error" role="alert">{api.error}</p>}
      {api.data !== undefined && spec !== undefined && (
        <>
          <dl class="fields">
            <Field name="Revision">{api.data.metadata?.revision}</Field>
            <Field name="Routes">
              {spec.basePath} · methods {spec.methods.length === 0 ? 'all' : spec.methods.join(', ')} · hosts {spec.hosts.length === 0 ? 'any' : spec.hosts.join(', ')} ·{' '}
              {spec.stripBasePath ? 'base path stripped' : 'base path kept'}
            </Field>
            <Field name="Upstream">{'pool' in spec.upstream ? `pool ${spec.upstream.pool}` : `gateway ${spec.upstream.gateway}`}</Field>
            <Field name="Failover">{spec.failover?.enabled === true ? `on: ${spec.failover.zones.join(', ') || 'every eligible zone'}` : 'off'}</Field>
          </dl>
          <h3 id="policies-title">Policies</h3>
          {/* It scrolls when long: focusable, so the keyboard can scroll it too. */}
          <pre class="json" tabIndex={0} role="region" aria-labelledby="policies-title">
            {JSON.stringify(spec.policies ?? {}, null, 2)}
          </pre>
          <DeploymentStatus session={session} api={name} />
          <Revisions session={session} api={api.data} onRolledBack={api.reload} />
        </>
      )}
    </section>
  );
}
