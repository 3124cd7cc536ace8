import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerOverrides } from '@causeway/controller';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { code, readDoc, section, tableRows } from './markdown.ts';

type Route = Parameters<NonNullable<ControllerOverrides['onAdminRoute']>>[0];
type Need = NonNullable<Route['need']>;

/** A route as the table names it: `PUT /v1/{kind}/{name}` for `/v1/:plural/:name`. */
function routeText(route: Pick<Route, 'method' | 'url'>): string {
  return `${route.method} ${route.url.replace(':plural', '{kind}').replace(/:([A-Za-z]+)/g, '{$1}')}`;
}

const permission = (subject: string, action: string): string => `\`${subject}:${action}\``;

/** What a route declares it needs, as the table's "Needs" column says it. */
function needText(route: Pick<Route, 'public' | 'need'>): string {
  const need: Need | undefined = route.need;
  if (route.public) return 'nothing (public)';
  if (need === undefined) return '(nothing declared)';
  if (need === 'system-admin') return 'system administrator';
  if (need === 'authenticated') return 'any valid token';
  if (need === 'gateway-heartbeat') return `that gateway's heartbeat token, or ${permission('gateways', 'edit')}`;
  if ('kind' in need) return [need.kind].flat().map((action) => permission('{kind}', action)).join(' or ');
  if ('anyOf' in need) return need.anyOf.map((action) => permission(need.subject, action)).join(' or ');
  return permission(need.subject, need.action);
}

/** `route → needs` of each row of the table under the heading. */
function documented(): string[] {
  const rows = tableRows(section(readDoc('docs/admin-api.md'), '### What each route needs'));
  return rows.map(([route = '', needs = '']) => `${code(route) ?? route} → ${needs}`);
}

function compare(declared: readonly string[], inDocs: readonly string[]): { missingFromDocs: string[]; notDeclared: string[] } {
  return { missingFromDocs: declared.filter((d) => !inDocs.includes(d)), notDeclared: inDocs.filter((d) => !declared.includes(d)) };
}

/** docs/admin-api.md's table of what each route needs, held to what the registered routes declare. */
describe('the permission table of docs/admin-api.md', () => {
  let db: TestDatabase;
  let admin: AdminController;
  const routes: Route[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url, {}, { onAdminRoute: (route) => routes.push(route) });
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
  });

  // HEAD answers every GET (fastify adds it) and needs what the GET needs.
  const declared = (): string[] => [...new Set(routes.filter((r) => r.method !== 'HEAD').map((r) => `${routeText(r)} → ${needText(r)}`))];

  it('lists every registered route with what it declares it needs, and nothing else', () => {
    expect(declared().length).toBeGreaterThan(30);
    expect(compare(declared(), documented())).toEqual({ missingFromDocs: [], notDeclared: [] });
  });

  it('can fail: a route whose declared need changed is found both ways', () => {
    const changed = routes.map((r) => (routeText(r) === 'GET /v1/tokens' ? { ...r, need: { subject: 'tokens', action: 'edit' } as Need } : r));
    const rows = [...new Set(changed.filter((r) => r.method !== 'HEAD').map((r) => `${routeText(r)} → ${needText(r)}`))];
    expect(compare(rows, documented())).toEqual({ missingFromDocs: ['GET /v1/tokens → `tokens:edit`'], notDeclared: ['GET /v1/tokens → `tokens:read`'] });
  });
});
