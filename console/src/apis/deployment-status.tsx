import { call, type Schemas, type Session } from '../api.ts';
import { usePolling } from '../use-polling.ts';
import { useStatusEvents } from './status-events.ts';
import { TableHead } from '../table-head.tsx';

type Status = Schemas['DeploymentStatus'];
type State = NonNullable<NonNullable<Status['runtimes']>[number]['state']>;

/** The runtime's words (ACK/NACK) in the operator's: applied, rejected, pending. */
const stateNames: Record<State, { text: string; tone: string }> = {
  acked: { text: 'applied', tone: 'green' },
  nacked: { text: 'rejected', tone: 'red' },
  pending: { text: 'pending', tone: 'grey' },
};

/** Polled, for the list: a stream per row would hold the browser's few connections to the controller. */
export function useDeploymentStatus(session: Session, api: string) {
  return usePolling(() => call(session, 'get', '/v1/apis/{name}/status', { params: { name: api } }), [session, api]);
}

/** "2/2 applied", "1 rejected", "1 pending" for one API's current revision. */
export function DeploymentSummary({ status }: { status: Status | undefined }) {
  if (status === undefined) return <span class="badge grey">…</span>;
  const { total = 0, acked = 0, nacked = 0, pending = 0 } = status.summary ?? {};
  if (total === 0) return <span class="badge grey">no runtime targeted</span>;
  const tone = nacked > 0 ? 'red' : acked === total ? 'green' : 'yellow';
  const parts = [`${acked}/${total} applied`, nacked > 0 ? `${nacked} rejected` : '', pending > 0 ? `${pending} pending` : ''].filter((p) => p !== '');
  return (
    <span class={`badge ${tone}`} data-testid="deployment-summary">
      {parts.join(', ')}
    </span>
  );
}

/** Each targeted runtime and what it did with the current revision, as the controller streams it. */
export function DeploymentStatus({ session, api }: { session: Session; api: string }) {
  const status = useStatusEvents(session, api);
  const runtimes = status.data?.runtimes ?? [];
  return (
    <section aria-labelledby="deployment-title">
      <h3 id="deployment-title">
        Deployment of revision {status.data?.revision ?? '…'} <DeploymentSummary status={status.data} />
      </h3>
      {status.error !== undefined && <p class="error" role="alert">{status.error}</p>}
      <table>
        <caption class="visually-hidden">Runtimes</caption>
        <TableHead columns={['Runtime', 'Zone', 'Controller', 'State']} />
        <tbody>
          {runtimes.map((r) => {
            const state = stateNames[r.state ?? 'pending'];
            return (
              <tr key={r.nodeId} data-runtime={r.nodeId}>
                <td>{r.nodeId}</td>
                <td>{r.zone}</td>
                <td>{r.controller ?? '—'}</td>
                <td>
                  <span class={`badge ${state.tone}`}>{state.text}</span> {r.error !== undefined && <span class="reason">{r.error}</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {status.data !== undefined && runtimes.length === 0 && <p>No runtime serves this API.</p>}
    </section>
  );
}
