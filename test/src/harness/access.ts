import { call, type HttpResult } from './http.ts';

/** A token as `POST /v1/tokens` answers it once: its id, and the secret to send. */
export interface IssuedToken {
  readonly id: string;
  readonly name: string;
  readonly secret: string;
}

/** Headers of the bootstrap token acting in `org`. */
export function inOrg(org: string): { headers: Record<string, string> } {
  return { headers: { 'causeway-org': org } };
}

/** Throws with the answer when its status is not one of `statuses`. */
export function expectStatus(result: HttpResult, what: string, ...statuses: number[]): HttpResult {
  if (!statuses.includes(result.status)) throw new Error(`${what}: ${result.status} ${result.text.slice(0, 500)}`);
  return result;
}

/** Creates an org with the bootstrap token. */
export async function createOrg(base: string, name: string): Promise<void> {
  expectStatus(await call(base, 'POST', '/v1/orgs', { name }), `POST /v1/orgs ${name}`, 201);
}

/** A token of `org` (made by the bootstrap token acting in it) with a role, or expiring after the given seconds. */
export async function issueToken(base: string, org: string, name: string, role: string, expiresInSeconds?: number): Promise<IssuedToken> {
  const body = { name, role, ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }) };
  const created = expectStatus(await call(base, 'POST', '/v1/tokens', body, inOrg(org)), `POST /v1/tokens ${name}`, 201);
  return { id: created.body.id, name, secret: created.body.token };
}

/** A custom role of `org`, made by the bootstrap token acting in it. */
export async function putRole(base: string, org: string, name: string, permissions: readonly { subject: string; actions: readonly string[] }[]): Promise<void> {
  expectStatus(await call(base, 'PUT', `/v1/roles/${name}`, { permissions }, inOrg(org)), `PUT /v1/roles/${name}`, 200, 201);
}
