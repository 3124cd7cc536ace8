import type { operations } from '../gen/admin-api.ts';

type RuntimeList = operations['listRuntimes']['responses'][200]['content']['application/json'];
export type Runtime = NonNullable<RuntimeList['items']>[number];

function StateBadge({ runtime }: { runtime: Runtime }) {
  if (runtime.revoked === true) return <span class="badge red">revoked</span>;
  if (runtime.connected === true) return <span class="badge green">connected</span>;
  const since = runtime.lastSeenAt === undefined ? '' : `last seen ${new Date(runtime.lastSeenAt).toLocaleString()}`;
  return (
    <span class="badge grey" title={since}>
      disconnected
    </span>
  );
}

/** 0: in sync (green); behind while connected: catching up (yellow); a disconnected runtime's lag only grows (grey). */
function LagBadge({ runtime }: { runtime: Runtime }) {
  const lag = runtime.lag ?? 0;
  const tone = lag === 0 ? 'green' : runtime.connected === true ? 'yellow' : 'grey';
  return (
    <span class={`badge ${tone}`} data-testid="lag">
      {lag === 0 ? 'in sync' : `${lag} behind`}
    </span>
  );
}

function LastNack({ nack }: { nack: Runtime['lastNack'] }) {
  if (nack === null || nack === undefined) return <>—</>;
  return (
    <span class="reason">
      revision {nack.revision} ({nack.type}): {nack.error}
    </span>
  );
}

/** A runtime without a certificate streams in plaintext: its identity is only what it claims. */
function certificateExpiry(runtime: Runtime): string {
  if (runtime.certificate === null || runtime.certificate === undefined) return 'none (plaintext)';
  const at = runtime.certificate.expiresAt;
  return at === null || at === undefined ? 'unknown' : new Date(at).toLocaleString();
}

function labelsOf(runtime: Runtime): string {
  const labels = Object.entries(runtime.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  return labels.length === 0 ? '—' : labels.join(', ');
}

export function RuntimeRow({ runtime, mayRevoke, onRevoke }: { runtime: Runtime; mayRevoke: boolean; onRevoke: () => void }) {
  const node = runtime.nodeId ?? '';
  return (
    <tr data-runtime={node}>
      <td>{node}</td>
      <td>
        <StateBadge runtime={runtime} />
      </td>
      <td>{runtime.zone}</td>
      <td>{runtime.org ?? 'shared'}</td>
      <td>{labelsOf(runtime)}</td>
      <td>{runtime.controller ?? '—'}</td>
      <td data-testid="applied-revision">{runtime.appliedRevision}</td>
      <td>
        <LagBadge runtime={runtime} />
      </td>
      <td>
        <LastNack nack={runtime.lastNack} />
      </td>
      <td>{certificateExpiry(runtime)}</td>
      <td>
        {mayRevoke && (
          <button type="button" onClick={onRevoke} aria-label={`Revoke runtime ${node}`}>
            Revoke
          </button>
        )}
      </td>
    </tr>
  );
}
