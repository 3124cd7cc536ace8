import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerOverrides } from '@causeway/controller';
import { formatAddress } from '@causeway/shared';
import { createSigningRequest, generateKeyPair } from '@causeway/shared/pki';
import { issueCertificate } from '../../../runtime/src/identity/certificate-issuer.ts';
import { createOrg, expectStatus, inOrg, issueToken, putRole, type IssuedToken } from '../harness/access.ts';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';
import { TestPki } from '../harness/pki.ts';

type Route = Parameters<NonNullable<ControllerOverrides['onAdminRoute']>>[0];
interface Need {
  readonly subject: string;
  readonly action: string;
}
interface Permission {
  readonly subject: string;
  readonly actions: readonly string[];
}
interface Request {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  /** An event stream: only its status (and a refusal's body) is read, then it is closed. */
  readonly stream?: boolean;
}

/** The answer to a GET of an event stream, without waiting for a stream that never ends. */
async function openStream(base: string, path: string, token: string): Promise<{ status: number; body: any; text: string }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of any shape, read by assertions
  const abort = new AbortController();
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  if (response.ok) {
    abort.abort();
    return { status: response.status, body: undefined, text: '' };
  }
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), text };
}
/** One way to call a route: what to make first (with the bootstrap token), the request, and what it needs in all when that is more than the route says. */
interface Variant {
  readonly label: string;
  prepare(name: string, plural: string): Promise<Request>;
  readonly needs?: (plural: string) => readonly Need[] | 'system-admin';
}

const ORG = 'matrix';
const plurals = ['apis', 'gateways', 'gateway-pools', 'zones'];
/** A role that grants some actions of a subject without the others: create without edit, edit without create, attach without read. */
const customPermissions: readonly Permission[] = [
  { subject: 'apis', actions: ['read', 'edit'] },
  { subject: 'gateways', actions: ['create', 'attach'] },
  { subject: 'gateway-pools', actions: ['read', 'delete'] },
  { subject: 'zones', actions: ['read'] },
  { subject: 'controllers', actions: ['read'] },
  { subject: 'audit-events', actions: ['read'] },
  { subject: 'tokens', actions: ['read', 'delete'] },
  { subject: 'roles', actions: ['read', 'create'] },
];

function holds(permissions: readonly Permission[], need: Need): boolean {
  // Zones describe the whole deployment: only the bootstrap token changes them.
  if (need.subject === 'zones' && need.action !== 'read') return false;
  return permissions.some((p) => p.subject === need.subject && p.actions.includes(need.action));
}

/** The route's own declaration, with `:plural` routes resolved for one kind. */
function declared(route: Route, plural: string): readonly Need[] | 'system-admin' {
  const need = route.need;
  if (need === 'system-admin') return 'system-admin';
  if (need === 'gateway-heartbeat') return [{ subject: 'gateways', action: 'edit' }];
  if (need === undefined || need === 'authenticated') return [];
  if ('action' in need) return [need];
  if ('kind' in need && typeof need.kind === 'string') return [{ subject: plural, action: need.kind }];
  throw new Error(`${route.method} ${route.url} lets one of several actions in: each of its recipes must say what it needs`);
}

/**
 * DELETEs that remove a refusal rather than a thing: deleting a runtime's revocation lets the
 * runtime in again, which needs what letting one in needs (`runtimes:create`, as a join token does).
 */
const deletesARefusal = new Set(['DELETE /v1/runtimes/:node/revocation']);

/** The actions a method may declare: reads read, writes never only read. */
function consistent(method: string, url: string, need: Route['need']): boolean {
  if (need === undefined) return false;
  if (typeof need === 'string') return need !== 'authenticated' || method === 'POST';
  const declaredActions = 'anyOf' in need ? need.anyOf : 'kind' in need ? [need.kind].flat() : [need.action];
  if (method === 'GET' || method === 'HEAD') return declaredActions.every((a) => a === 'read');
  if (method === 'DELETE' && deletesARefusal.has(`${method} ${url}`)) return declaredActions.every((a) => a === 'create');
  if (method === 'DELETE') return declaredActions.every((a) => a === 'delete' || a === 'edit');
  return declaredActions.length > 0 && declaredActions.every((a) => a !== 'read');
}

describe('permission matrix: every registered route, for each built-in role and a custom role', () => {
  let db: TestDatabase;
  let admin: AdminController;
  const routes: Route[] = [];
  const tokens = new Map<string, IssuedToken>();
  let serial = 0;
  // The config stream over TLS, with a CA key, so runtimes of the org can join (and be revoked).
  let pki: TestPki;
  // A gateway that accepts every allocation handshake.
  let handshakes: Server;
  let handshakeUrl: string;

  const boot = (method: string, path: string, body?: unknown) => call(admin.base, method, path, body, inOrg(ORG));
  const made = async (method: string, path: string, body?: unknown): Promise<void> => {
    expectStatus(await boot(method, path, body), `prepare ${method} ${path}`, 200, 201);
  };
  const gateway = (name: string) => made('PUT', `/v1/gateways/${name}`, { spec: { url: 'http://127.0.0.1:7001' } });
  const pool = (name: string, members: string[] = []) => made('PUT', `/v1/gateway-pools/${name}`, { spec: { members } });
  const consumer = (name: string) => made('PUT', `/v1/consumers/${name}`, { spec: {} });
  const api = async (name: string, labels: Record<string, string> = {}) => {
    await gateway(`${name}-gw`);
    await made('PUT', `/v1/apis/${name}`, { metadata: { labels }, spec: { basePath: `/${name}`, upstream: { gateway: `${name}-gw` } } });
  };
  const runtimeToken = async (): Promise<{ id: string; token: string }> => {
    const created = expectStatus(await boot('POST', '/v1/runtime-tokens', { zone: 'default' }), 'prepare a runtime token', 201);
    return created.body;
  };
  /** A runtime of the org, known to the controller: it joined with a join token of the org. */
  const runtimeOfOrg = async (node: string): Promise<void> => {
    const csrPem = await createSigningRequest(await generateKeyPair(), node);
    const joined = await issueCertificate(formatAddress(admin.controller.xdsAddress), pki.credentials(), { joinToken: (await runtimeToken()).token, csrPem, nodeId: node }, 10_000);
    if (!joined.ok) throw new Error(`prepare: runtime ${node} could not join: ${joined.details}`);
  };
  /** A pool whose one gateway is free and answers the handshake. */
  const allocatable = async (name: string): Promise<void> => {
    await made('PUT', `/v1/gateways/${name}-gw`, { spec: { url: handshakeUrl } });
    await pool(name, [`${name}-gw`]);
  };
  const allocation = async (name: string): Promise<string> => {
    await allocatable(name);
    return expectStatus(await boot('POST', `/v1/gateway-pools/${name}/allocations`, { tenant: name }), `prepare allocation ${name}`, 201).body.id;
  };
  /** One resource of the kind a plural names, and a document that changes it. */
  const resource = async (plural: string, name: string): Promise<unknown> => {
    if (plural === 'apis') {
      await api(name);
      return { metadata: { labels: { v: '2' } }, spec: { basePath: `/${name}`, upstream: { gateway: `${name}-gw` } } };
    }
    if (plural === 'gateways') await gateway(name);
    else if (plural === 'gateway-pools') await pool(name);
    else await made('PUT', `/v1/zones/${name}`, { spec: {} });
    const current = await boot('GET', `/v1/${plural}/${name}`);
    return { metadata: { labels: { v: '2' } }, spec: current.body.spec };
  };
  /** A new resource's document; a new API names a new gateway, so it needs attach too. */
  const newDocument = async (plural: string, name: string): Promise<unknown> => {
    if (plural === 'apis') {
      await gateway(`${name}-gw`);
      return { spec: { basePath: `/${name}`, upstream: { gateway: `${name}-gw` } } };
    }
    if (plural === 'gateways') return { spec: { url: 'http://127.0.0.1:7002' } };
    if (plural === 'gateway-pools') return { spec: { members: [] } };
    return { spec: {} };
  };

  const get = (path: (name: string) => string, prepare?: (name: string) => Promise<unknown>): Variant[] => [
    {
      label: 'existing',
      prepare: async (name) => {
        await prepare?.(name);
        return { method: 'GET', path: path(name) };
      },
    },
  ];

  /** How to call each route so that it succeeds when allowed. A route without one fails the test: add it here. */
  const recipes: Record<string, Variant[]> = {
    'GET /v1/apis/:name/revisions': get((n) => `/v1/apis/${n}/revisions`, api),
    'GET /v1/apis/:name/status': get((n) => `/v1/apis/${n}/status`, api),
    'GET /v1/apis/:name/status/events': [{ label: 'existing', prepare: async (name) => (await api(name), { method: 'GET', path: `/v1/apis/${name}/status/events`, stream: true }) }],
    'POST /v1/apis/:name/rollback': [
      {
        label: 'to the previous revision (same upstream: no attach)',
        prepare: async (name) => {
          await api(name);
          await api(name, { v: '2' });
          return { method: 'POST', path: `/v1/apis/${name}/rollback`, body: {} };
        },
      },
    ],
    'GET /v1/gateway-pools': get(() => '/v1/gateway-pools'),
    'GET /v1/gateway-pools/:name': get((n) => `/v1/gateway-pools/${n}`, pool),
    'GET /v1/gateway-pools/:name/resources': get((n) => `/v1/gateway-pools/${n}/resources`, pool),
    'POST /v1/gateway-pools': [{ label: 'new', prepare: async (name) => ({ method: 'POST', path: '/v1/gateway-pools', body: { metadata: { name }, spec: { members: [] } } }) }],
    'PATCH /v1/gateway-pools/:name': [
      {
        label: 'description',
        prepare: async (name) => {
          await pool(name);
          return { method: 'PATCH', path: `/v1/gateway-pools/${name}`, body: { spec: { description: 'changed' } } };
        },
      },
    ],
    'POST /v1/gateway-pools/:name/memberships': [
      {
        label: 'a gateway of the org',
        prepare: async (name) => {
          await gateway(`${name}-gw`);
          await pool(name);
          return { method: 'POST', path: `/v1/gateway-pools/${name}/memberships`, body: { gateway: `${name}-gw` } };
        },
      },
    ],
    'DELETE /v1/gateway-pools/:name/memberships/:gateway': [
      {
        label: 'a member',
        prepare: async (name) => {
          await gateway(`${name}-gw`);
          await pool(name, [`${name}-gw`]);
          return { method: 'DELETE', path: `/v1/gateway-pools/${name}/memberships/${name}-gw` };
        },
      },
    ],
    'GET /v1/gateways': get(() => '/v1/gateways'),
    'GET /v1/gateways/:name': get((n) => `/v1/gateways/${n}`, gateway),
    'POST /v1/gateways/:name/heartbeat': [
      {
        label: 'of a gateway of the org',
        prepare: async (name) => {
          await gateway(name);
          return { method: 'POST', path: `/v1/gateways/${name}/heartbeat`, body: {} };
        },
      },
    ],
    'POST /v1/gateways/:name/tokens': [
      {
        label: 'for a gateway of the org',
        prepare: async (name) => {
          await gateway(name);
          return { method: 'POST', path: `/v1/gateways/${name}/tokens`, body: {} };
        },
      },
    ],
    'GET /v1/:plural': [{ label: 'list', prepare: async (_name, plural) => ({ method: 'GET', path: `/v1/${plural}` }) }],
    'GET /v1/:plural/:name': [
      {
        label: 'existing',
        prepare: async (name, plural) => {
          await resource(plural, name);
          return { method: 'GET', path: `/v1/${plural}/${name}` };
        },
      },
    ],
    'PUT /v1/:plural/:name': [
      {
        label: 'replace an existing one',
        prepare: async (name, plural) => ({ method: 'PUT', path: `/v1/${plural}/${name}`, body: await resource(plural, name) }),
        needs: (plural) => [{ subject: plural, action: 'edit' }],
      },
      {
        label: 'create a new one',
        prepare: async (name, plural) => ({ method: 'PUT', path: `/v1/${plural}/${name}`, body: await newDocument(plural, name) }),
        needs: (plural) => [{ subject: plural, action: 'create' }, ...(plural === 'apis' ? [{ subject: 'gateways', action: 'attach' }] : [])],
      },
    ],
    'DELETE /v1/:plural/:name': [
      {
        label: 'an unused one',
        prepare: async (name, plural) => {
          await resource(plural, name);
          return { method: 'DELETE', path: `/v1/${plural}/${name}` };
        },
      },
    ],
    'POST /v1/apply': [
      {
        label: 'a new gateway',
        prepare: async (name) => ({ method: 'POST', path: '/v1/apply', body: { items: [{ kind: 'Gateway', metadata: { name }, spec: { url: 'http://127.0.0.1:7003' } }] } }),
        needs: () => [{ subject: 'gateways', action: 'create' }],
      },
    ],
    'GET /v1/runtimes': get(() => '/v1/runtimes'),
    'GET /v1/runtime-tokens': get(() => '/v1/runtime-tokens'),
    'POST /v1/runtime-tokens': [{ label: 'for the org', prepare: async () => ({ method: 'POST', path: '/v1/runtime-tokens', body: { zone: 'default' } }) }],
    'DELETE /v1/runtime-tokens/:id': [{ label: 'a live one', prepare: async () => ({ method: 'DELETE', path: `/v1/runtime-tokens/${(await runtimeToken()).id}` }) }],
    'POST /v1/runtimes/:node/revoke': [
      {
        label: 'a runtime of the org',
        prepare: async (name) => {
          await runtimeOfOrg(name);
          return { method: 'POST', path: `/v1/runtimes/${name}/revoke` };
        },
      },
    ],
    'DELETE /v1/runtimes/:node/revocation': [
      {
        label: 'a revoked runtime of the org',
        prepare: async (name) => {
          await runtimeOfOrg(name);
          await made('POST', `/v1/runtimes/${name}/revoke`);
          return { method: 'DELETE', path: `/v1/runtimes/${name}/revocation` };
        },
      },
    ],
    'POST /v1/gateway-pools/:name/allocations': [
      {
        label: 'a pool with a free gateway',
        prepare: async (name) => {
          await allocatable(name);
          return { method: 'POST', path: `/v1/gateway-pools/${name}/allocations`, body: { tenant: name } };
        },
        needs: () => [{ subject: 'allocations', action: 'create' }, { subject: 'gateway-pools', action: 'attach' }],
      },
    ],
    'GET /v1/consumers/:name/keys': get((n) => `/v1/consumers/${n}/keys`, consumer),
    'POST /v1/consumers/:name/keys': [
      {
        label: 'for a consumer of the org',
        prepare: async (name) => {
          await consumer(name);
          return { method: 'POST', path: `/v1/consumers/${name}/keys`, body: {} };
        },
      },
    ],
    'DELETE /v1/consumers/:name/keys/:id': [
      {
        label: 'a live key',
        prepare: async (name) => {
          await consumer(name);
          const key = (await boot('POST', `/v1/consumers/${name}/keys`, {})).body as { id: string };
          return { method: 'DELETE', path: `/v1/consumers/${name}/keys/${key.id}` };
        },
      },
    ],
    'GET /v1/allocations': get(() => '/v1/allocations'),
    'GET /v1/allocations/:id': [{ label: 'a ready one', prepare: async (name) => ({ method: 'GET', path: `/v1/allocations/${await allocation(name)}` }) }],
    'DELETE /v1/allocations/:id': [{ label: 'a ready one', prepare: async (name) => ({ method: 'DELETE', path: `/v1/allocations/${await allocation(name)}` }) }],
    'GET /v1/controllers': get(() => '/v1/controllers'),
    'GET /v1/orgs': get(() => '/v1/orgs'),
    'POST /v1/orgs': [{ label: 'new', prepare: async (name) => ({ method: 'POST', path: '/v1/orgs', body: { name } }) }],
    'DELETE /v1/orgs/:name': [
      {
        label: 'an empty org',
        prepare: async (name) => {
          await createOrg(admin.base, name);
          return { method: 'DELETE', path: `/v1/orgs/${name}` };
        },
      },
    ],
    'GET /v1/tokens': get(() => '/v1/tokens'),
    // Granting `reader` (apis:read) is no escalation for any role that may create tokens.
    'POST /v1/tokens': [{ label: 'with role reader', prepare: async (name) => ({ method: 'POST', path: '/v1/tokens', body: { name, role: 'reader' } }) }],
    'DELETE /v1/tokens/:id': [
      {
        label: 'a live token',
        prepare: async (name) => {
          const token = await issueToken(admin.base, ORG, name, 'reader');
          return { method: 'DELETE', path: `/v1/tokens/${token.id}` };
        },
      },
    ],
    'GET /v1/audit-events': get(() => '/v1/audit-events?since=1h'),
    'GET /v1/roles': get(() => '/v1/roles'),
    'GET /v1/roles/:name': get((n) => `/v1/roles/${n}`, (n) => putRole(admin.base, ORG, n, [{ subject: 'apis', actions: ['read'] }])),
    'PUT /v1/roles/:name': [
      {
        label: 'change an existing one',
        prepare: async (name) => {
          await putRole(admin.base, ORG, name, [{ subject: 'controllers', actions: ['read'] }]);
          return { method: 'PUT', path: `/v1/roles/${name}`, body: { permissions: [{ subject: 'apis', actions: ['read'] }] } };
        },
        needs: () => [{ subject: 'roles', action: 'edit' }],
      },
      {
        label: 'create a new one',
        prepare: async (name) => ({ method: 'PUT', path: `/v1/roles/${name}`, body: { permissions: [{ subject: 'apis', actions: ['read'] }] } }),
        needs: () => [{ subject: 'roles', action: 'create' }],
      },
    ],
    'DELETE /v1/roles/:name': [
      {
        label: 'an unused one',
        prepare: async (name) => {
          await putRole(admin.base, ORG, name, [{ subject: 'apis', actions: ['read'] }]);
          return { method: 'DELETE', path: `/v1/roles/${name}` };
        },
      },
    ],
  };

  beforeAll(async () => {
    pki = await TestPki.create();
    handshakes = createServer((request, response) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => handshakes.listen(0, '127.0.0.1', resolve));
    handshakeUrl = `http://127.0.0.1:${(handshakes.address() as { port: number }).port}`;
    db = await createTestDatabase();
    admin = await startAdminController(db.url, { CAUSEWAY_ADMIN_AUTH_FAILURES_PER_SECOND: '1000000', ...pki.controllerEnv() }, { onAdminRoute: (route) => routes.push(route) });
    await createOrg(admin.base, ORG);
    await putRole(admin.base, ORG, 'reader', [{ subject: 'apis', actions: ['read'] }]);
    await putRole(admin.base, ORG, 'release', customPermissions);
    for (const role of ['admin', 'operator', 'viewer', 'release']) tokens.set(role, await issueToken(admin.base, ORG, `as-${role}`, role));
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
    handshakes.close();
    await pki.close();
  });

  it('registers no route without a declared need, and each need fits its method', () => {
    const protectedRoutes = routes.filter((r) => !r.public);
    expect(protectedRoutes.length).toBeGreaterThan(30);
    expect(protectedRoutes.filter((r) => r.need === undefined).map((r) => `${r.method} ${r.url}`)).toEqual([]);
    expect(protectedRoutes.filter((r) => !consistent(r.method, r.url, r.need)).map((r) => `${r.method} ${r.url} ${JSON.stringify(r.need)}`)).toEqual([]);
  });

  it('lists the built-in roles as documented: admin everything, operator all but tokens and roles, viewer reads those', async () => {
    const listed = await call(admin.base, 'GET', '/v1/roles', undefined, { token: tokens.get('admin')?.secret ?? '' });
    const of = (name: string): Permission[] => listed.body.items.find((r: { metadata: { name: string } }) => r.metadata.name === name).spec.permissions;
    const subjects = of('admin').map((p) => p.subject);
    expect(subjects).toEqual(expect.arrayContaining(['apis', 'gateways', 'gateway-pools', 'zones', 'runtimes', 'controllers', 'allocations', 'audit-events', 'tokens', 'roles']));
    for (const p of of('admin')) expect(p.actions).toEqual(expect.arrayContaining(['read', 'create', 'edit', 'delete']));
    expect(of('operator')).toEqual(of('admin').filter((p) => p.subject !== 'tokens' && p.subject !== 'roles'));
    expect(of('viewer')).toEqual(of('operator').map((p) => ({ subject: p.subject, actions: ['read'] })));
  });

  it('answers 2xx when the role holds what the route needs, else 403 naming the permission, and a refusal changes nothing', async () => {
    const listed = await call(admin.base, 'GET', '/v1/roles', undefined, inOrg(ORG));
    const permissionsOf = new Map<string, readonly Permission[]>(listed.body.items.map((r: { metadata: { name: string }; spec: { permissions: Permission[] } }) => [r.metadata.name, r.spec.permissions]));
    const failures: string[] = [];
    let cases = 0;
    for (const route of routes.filter((r) => !r.public)) {
      const key = `${route.method === 'HEAD' ? 'GET' : route.method} ${route.url}`;
      const variants = recipes[key];
      if (variants === undefined) {
        failures.push(`${route.method} ${route.url}: no request recipe in this test; add one`);
        continue;
      }
      for (const plural of route.url.includes(':plural') ? plurals : ['']) {
        for (const variant of variants) {
          for (const [role, token] of tokens) {
            cases++;
            const name = `m${++serial}`;
            const request = await variant.prepare(name, plural);
            const needs = variant.needs?.(plural) ?? declared(route, plural);
            const permissions = permissionsOf.get(role) ?? [];
            const missing = needs === 'system-admin' ? 'system-admin' : needs.find((n) => !holds(permissions, n));
            const before = await admin.revision();
            const answer =
              request.stream === true
                ? await openStream(admin.base, request.path, token.secret)
                : await call(admin.base, route.method, request.path, route.method === 'HEAD' ? undefined : request.body, { token: token.secret });
            const what = `${route.method} ${request.path} [${variant.label}] as ${role}`;
            if (missing === undefined) {
              if (answer.status < 200 || answer.status > 299) failures.push(`${what}: allowed, but ${answer.status} ${answer.text.slice(0, 200)}`);
              continue;
            }
            // `needs apis:edit`, or `needs apis:create or apis:edit` from a route that lets either in.
            const named = missing === 'system-admin' || missing.subject === 'zones' ? 'system administrators only' : `${missing.subject}:${missing.action}`;
            const body = route.method === 'HEAD' ? undefined : answer.body;
            if (answer.status !== 403) failures.push(`${what}: should be refused (${named}), got ${answer.status} ${answer.text.slice(0, 200)}`);
            else if (body !== undefined && (body.error?.code !== 'permission_denied' || !/needs |system administrators only/.test(String(body.error?.message)) || !String(body.error?.message).includes(named))) {
              failures.push(`${what}: 403 should name "${named}": ${answer.text.slice(0, 200)}`);
            }
            if ((await admin.revision()) !== before) failures.push(`${what}: refused, yet the revision moved`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(cases).toBeGreaterThan(250);
  });
});
