import type { ApiError } from '../api.ts';

/**
 * The server's word on one field (`details[].path`), or, for `path` undefined, whatever no
 * field claims: shown beside the field it is about.
 */
export function fieldErrorOf(error: ApiError | string | undefined, path: string | undefined): string | undefined {
  if (error === undefined) return undefined;
  if (typeof error === 'string') return path === undefined ? error : undefined;
  const mine = error.details.filter((d) => (path === undefined ? false : d.path === path || d.path.startsWith(`${path}.`)));
  if (path !== undefined) return mine.length > 0 ? mine.map((d) => d.message).join('; ') : undefined;
  return error.details.length === 0 ? error.message : undefined;
}

export function FieldError({ error, id }: { error: string | undefined; id?: string }) {
  if (error === undefined) return null;
  return (
    <span class="error" role="alert" id={id}>
      {error}
    </span>
  );
}
