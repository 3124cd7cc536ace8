export interface Lifetime {
  readonly label: string;
  /** null: never expires. */
  readonly seconds: number | null;
}

/** A choice of lifetimes, by index into `lifetimes`. */
export function LifetimeSelect({ id, lifetimes, value, onChange }: { id: string; lifetimes: readonly Lifetime[]; value: number; onChange: (index: number) => void }) {
  return (
    <>
      <label for={id}>Expires in</label>
      <select id={id} value={String(value)} onChange={(e) => onChange(Number(e.currentTarget.value))}>
        {lifetimes.map((l, i) => (
          <option key={l.label} value={String(i)}>
            {l.label}
          </option>
        ))}
      </select>
    </>
  );
}
