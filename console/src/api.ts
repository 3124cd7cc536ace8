import type { components, paths } from './gen/admin-api.ts';

export type Schemas = components['schemas'];
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : undefined;
type Responses<O> = O extends { responses: infer R } ? R : never;
/** What a call answers when it succeeds (200 or 201), as the OpenAPI document says. */
type Success<O> = JsonOf<Responses<O>[200 & keyof Responses<O>]> | JsonOf<Responses<O>[201 & keyof Responses<O>]>;
type Body<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** The admin API's error envelope: `details` name the field a request got wrong. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: readonly { path: string; message: string }[];

  constructor(status: number, code: string, message: string, details: readonly { path: string; message: string }[]) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export interface Session {
  readonly token: string;
  /** The org a system administrator looks at (the `Causeway-Org` header); the token's own otherwise. */
  readonly org: string | undefined;
}

/** The token, and for a system administrator the org looked at. */
export function authHeaders(session: Session): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${session.token}` };
  if (session.org !== undefined) headers['causeway-org'] = session.org;
  return headers;
}

/** Calls one operation of the admin API: `path` as the document spells it, `{name}` filled from `params`. */
export async function call<P extends keyof paths, M extends Method>(
  session: Session,
  method: M,
  path: P,
  options: { params?: Readonly<Record<string, string>>; query?: Readonly<Record<string, string | undefined>>; body?: Body<Operation<P, M>> } = {},
): Promise<Success<Operation<P, M>>> {
  const search = new URLSearchParams(Object.entries(options.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')).toString();
  const url = String(path).replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(options.params?.[name] ?? '')) + (search === '' ? '' : `?${search}`);
  const headers = authHeaders(session);
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method: method.toUpperCase(), headers, body: options.body === undefined ? null : JSON.stringify(options.body) });
  const text = await response.text();
  const json: unknown = text === '' ? undefined : JSON.parse(text);
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string; details?: { path: string; message: string }[] } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? 'unknown', error?.message ?? response.statusText, error?.details ?? []);
  }
  return json as Success<Operation<P, M>>;
}

const TOKEN_KEY = 'causeway.token';
const ORG_KEY = 'causeway.org';

/** The tab's session only: closing the tab forgets the token. */
export function loadSession(): Session | undefined {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token === null ? undefined : { token, org: sessionStorage.getItem(ORG_KEY) ?? undefined };
}

export function saveSession(session: Session | undefined): void {
  if (session === undefined) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ORG_KEY);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, session.token);
  if (session.org === undefined) sessionStorage.removeItem(ORG_KEY);
  else sessionStorage.setItem(ORG_KEY, session.org);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
