/** Column headers; an empty name is the actions column, named for screen readers only. */
export function TableHead({ columns }: { columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th key={c} scope="col">
            {c === '' ? <span class="visually-hidden">Actions</span> : c}
          </th>
        ))}
      </tr>
    </thead>
  );
}
