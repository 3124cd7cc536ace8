import { useState } from 'preact/hooks';
import { call, messageOf, type Schemas, type Session } from '../api.ts';
import { Dialog } from '../gateways/dialog.tsx';
import { usePolling } from '../use-polling.ts';
import { ZoneForm } from './zone-form.tsx';
import { TableHead } from '../table-head.tsx';

type Zone = Schemas['Zone'];

/** Each issuer by its `issuer` (the rest, key sets and audiences, is in the edit form). */
function issuerNames(zone: Zone): string {
  const names = zone.spec.issuers.map((i) => String((i as { issuer?: unknown }).issuer ?? '?'));
  return names.length === 0 ? 'none' : names.join(', ');
}

interface RowProps {
  readonly zone: Zone;
  readonly canWrite: boolean;
  readonly onEdit: () => void;
  readonly onDelete: () => void;
}

function ZoneRow({ zone, canWrite, onEdit, onDelete }: RowProps) {
  const name = zone.metadata?.name ?? '';
  const { dtcUrl, failoverEligible, failoverPriority } = zone.spec;
  return (
    <tr data-zone={name}>
      <td>{name}</td>
      <td>{dtcUrl === '' ? '—' : dtcUrl}</td>
      <td>{issuerNames(zone)}</td>
      <td>
        <span class={`badge ${failoverEligible ? 'green' : 'grey'}`}>{failoverEligible ? 'eligible' : 'not eligible'}</span>
      </td>
      <td>{failoverPriority}</td>
      <td>{zone.metadata?.revision}</td>
      {canWrite && (
        <td>
          <button type="button" onClick={onEdit} aria-label={`Edit zone ${name}`}>
            Edit
          </button>{' '}
          <button type="button" onClick={onDelete} aria-label={`Delete zone ${name}`}>
            Delete
          </button>
        </td>
      )}
    </tr>
  );
}

function ConfirmDelete({ name, onConfirm, onCancel }: { name: string; onConfirm: () => void; onCancel: () => void }) {
  return (
    <Dialog title={`Delete zone ${name}?`} kind="sheet" onClose={onCancel}>
      <p>Runtimes stop failing over to it. A zone that an API names in its failover zones is not deleted: the refusal names the APIs.</p>
      <button type="button" class="danger" onClick={onConfirm}>
        Delete zone
      </button>{' '}
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </Dialog>
  );
}

function ZoneTable({ zones, canWrite, onEdit, onDelete }: { zones: readonly Zone[]; canWrite: boolean; onEdit: (z: Zone) => void; onDelete: (name: string) => void }) {
  return (
    <table>
      <caption class="visually-hidden">Zones</caption>
      <TableHead columns={['Name', 'DTC URL', 'Issuers', 'Failover', 'Priority', 'Revision', ...(canWrite ? [''] : [])]} />
      <tbody>
        {zones.map((z) => (
          <ZoneRow key={z.metadata?.name} zone={z} canWrite={canWrite} onEdit={() => onEdit(z)} onDelete={() => onDelete(z.metadata?.name ?? '')} />
        ))}
      </tbody>
    </table>
  );
}

/**
 * Deployment zones, shared by every org: where a runtime fails over to (lower priority
 * first) and whose clients' tokens it trusts. Only a system administrator changes them.
 */
export function ZonesPage({ session, canWrite }: { session: Session; canWrite: boolean }) {
  const zones = usePolling(() => call(session, 'get', '/v1/zones'), [session]);
  const [editing, setEditing] = useState<Zone | undefined>(undefined);
  const [deleting, setDeleting] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const items = zones.data?.items ?? [];
  const remove = async (name: string): Promise<void> => {
    setDeleting(undefined);
    try {
      await call(session, 'delete', '/v1/zones/{name}', { params: { name } });
      setError(undefined);
    } catch (e) {
      setError(messageOf(e));
    }
    zones.reload();
  };
  const saved = (): void => {
    setEditing(undefined);
    zones.reload();
  };
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Zones</h1>
      {!canWrite && <p class="hint">Zones are shared by every org: only a system administrator creates, edits or deletes them.</p>}
      {canWrite && editing === undefined && <ZoneForm session={session} zone={undefined} onSaved={saved} onCancel={saved} />}
      {(error ?? zones.error) !== undefined && <p class="error" role="alert">{error ?? zones.error}</p>}
      <ZoneTable zones={items} canWrite={canWrite} onEdit={setEditing} onDelete={setDeleting} />
      {zones.data !== undefined && items.length === 0 && <p>No zones yet.</p>}
      {editing !== undefined && (
        <Dialog title={`Edit zone ${editing.metadata?.name ?? ''}`} kind="sheet" onClose={() => setEditing(undefined)}>
          <ZoneForm key={editing.metadata?.name} session={session} zone={editing} onSaved={saved} onCancel={() => setEditing(undefined)} />
        </Dialog>
      )}
      {deleting !== undefined && <ConfirmDelete name={deleting} onConfirm={() => void remove(deleting)} onCancel={() => setDeleting(undefined)} />}
    </section>
  );
}
