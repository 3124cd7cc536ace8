import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, call, messageOf, type Schemas, type Session } from '../api.ts';
import { FieldError } from '../gateways/field-error.tsx';

type Zone = Schemas['Zone'];
type Issuers = Schemas['ZoneSpec']['issuers'];

interface Draft {
  readonly name: string;
  readonly dtcUrl: string;
  readonly failoverEligible: boolean;
  readonly failoverPriority: string;
  readonly issuers: string;
}

function draftOf(zone: Zone | undefined): Draft {
  if (zone === undefined) return { name: '', dtcUrl: '', failoverEligible: true, failoverPriority: '100', issuers: '[]' };
  const { dtcUrl, failoverEligible, failoverPriority, issuers } = zone.spec;
  return { name: zone.metadata?.name ?? '', dtcUrl, failoverEligible, failoverPriority: String(failoverPriority), issuers: JSON.stringify(issuers, null, 2) };
}

/** Issuers are edited as the JSON the API takes; text that is not JSON never leaves the page. */
function parseIssuers(text: string): Issuers | string {
  try {
    return JSON.parse(text === '' ? '[]' : text) as Issuers;
  } catch (e) {
    return `is not JSON: ${messageOf(e)}`;
  }
}

function specOf(draft: Draft, issuers: Issuers): Schemas['ZoneSpec'] {
  // An empty priority takes the default; anything else goes as typed, for the server to judge.
  const priority = draft.failoverPriority.trim() === '' ? undefined : Number(draft.failoverPriority);
  return { dtcUrl: draft.dtcUrl.trim(), failoverEligible: draft.failoverEligible, issuers, ...(priority === undefined ? {} : { failoverPriority: priority }) } as Schemas['ZoneSpec'];
}

const fieldPaths = ['metadata.name', 'spec.dtcUrl', 'spec.failoverPriority', 'spec.failoverEligible', 'spec.issuers'] as const;

function under(detailPath: string, path: string): boolean {
  return detailPath === path || detailPath.startsWith(`${path}.`) || detailPath.startsWith(`${path}[`);
}

/** The server's word on one field, an issuer's fields included (`spec.issuers[0].jwksUri`). */
function problemAt(error: ApiError | string | undefined, path: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const mine = error.details.filter((d) => under(d.path, path));
  if (mine.length === 0) return undefined;
  return mine.map((d) => (d.path === path ? d.message : `${d.path.slice(path.length).replace(/^\./, '')}: ${d.message}`)).join('; ');
}

/** What no field claims: a refusal (403), or a detail about something the form does not show. */
function unclaimed(error: ApiError | string | undefined): string | undefined {
  if (error === undefined || typeof error === 'string') return error;
  if (error.details.length === 0) return error.message;
  const rest = error.details.filter((d) => !fieldPaths.some((p) => under(d.path, p)));
  return rest.length === 0 ? undefined : rest.map((d) => `${d.path}: ${d.message}`).join('; ');
}

interface FieldsProps {
  readonly draft: Draft;
  readonly editing: boolean;
  readonly error: ApiError | string | undefined;
  readonly issuersProblem: string | undefined;
  readonly set: (change: Partial<Draft>) => void;
}

function Field({ id, label, error, children }: { id: string; label: string; error: string | undefined; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

/** Each input with the server's word on it beside it. */
function ZoneFields({ draft, editing, error, issuersProblem, set }: FieldsProps) {
  const problem = (path: (typeof fieldPaths)[number]) => problemAt(error, path);
  const described = (id: string, path: (typeof fieldPaths)[number], local?: string) =>
    (local ?? problem(path)) === undefined ? {} : { 'aria-invalid': true, 'aria-describedby': `${id}-error` };
  const issuers = issuersProblem === undefined ? problem('spec.issuers') : `Issuers ${issuersProblem}`;
  return (
    <>
      {!editing && (
        <Field id="zone-name" label="Zone name" error={problem('metadata.name')}>
          <input id="zone-name" value={draft.name} {...described('zone-name', 'metadata.name')} onInput={(e) => set({ name: e.currentTarget.value })} />
        </Field>
      )}
      <Field id="zone-dtc-url" label="DTC URL" error={problem('spec.dtcUrl')}>
        <input id="zone-dtc-url" value={draft.dtcUrl} placeholder="https://eu-1.example.com (empty: none)" {...described('zone-dtc-url', 'spec.dtcUrl')} onInput={(e) => set({ dtcUrl: e.currentTarget.value })} />
      </Field>
      <Field id="zone-priority" label="Failover priority" error={problem('spec.failoverPriority')}>
        <input id="zone-priority" type="number" min={0} max={1000} value={draft.failoverPriority} {...described('zone-priority', 'spec.failoverPriority')} onInput={(e) => set({ failoverPriority: e.currentTarget.value })} />
      </Field>
      <Field id="zone-eligible" label="Failover eligible" error={problem('spec.failoverEligible')}>
        <input id="zone-eligible" type="checkbox" checked={draft.failoverEligible} onChange={(e) => set({ failoverEligible: e.currentTarget.checked })} />
      </Field>
      <Field id="zone-issuers" label="Issuers (JSON)" error={issuers}>
        <textarea id="zone-issuers" rows={4} value={draft.issuers} {...described('zone-issuers', 'spec.issuers', issuersProblem)} onInput={(e) => set({ issuers: e.currentTarget.value })} />
      </Field>
    </>
  );
}

/**
 * Creates a zone, or replaces one (`zone` given: its name is fixed, its labels kept). The
 * server's word on a field is shown beside it.
 */
export function ZoneForm({ session, zone, onSaved, onCancel }: { session: Session; zone: Zone | undefined; onSaved: () => void; onCancel: () => void }) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(zone));
  const [error, setError] = useState<ApiError | string | undefined>(undefined);
  const [issuersProblem, setIssuersProblem] = useState<string | undefined>(undefined);
  const editing = zone !== undefined;
  const set = (change: Partial<Draft>): void => {
    setDraft({ ...draft, ...change });
    setError(undefined);
    if (change.issuers !== undefined) setIssuersProblem(undefined);
  };
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const issuers = parseIssuers(draft.issuers);
    setIssuersProblem(typeof issuers === 'string' ? issuers : undefined);
    if (typeof issuers === 'string') return;
    try {
      const body = { metadata: { name: draft.name, labels: zone?.metadata?.labels ?? {} }, spec: specOf(draft, issuers) } as Zone;
      await call(session, 'put', '/v1/zones/{name}', { params: { name: draft.name }, body });
      setError(undefined);
      if (!editing) setDraft(draftOf(undefined));
      onSaved();
    } catch (e) {
      setError(e instanceof ApiError ? e : messageOf(e));
    }
  };
  return (
    <form class="zone-form" onSubmit={submit} aria-label={editing ? `Edit zone ${draft.name}` : 'Create zone'} noValidate>
      <ZoneFields draft={draft} editing={editing} error={error} issuersProblem={issuersProblem} set={set} />
      <div class="actions">
        <button type="submit">{editing ? 'Save zone' : 'Create zone'}</button>
        {editing && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
        <FieldError error={unclaimed(error)} />
      </div>
    </form>
  );
}
