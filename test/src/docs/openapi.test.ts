import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { adminErrorCodes } from '../../../controller/src/admin-api/error-replies.ts';
import { kindOfPlural } from '../../../controller/src/admin-api/documents.ts';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';

interface Route {
  readonly method: string;
  readonly url: string;
  readonly public: boolean;
}

type Operation = { security?: unknown[]; responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> };
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { properties?: Record<string, { properties?: Record<string, { enum?: string[] }> }> }> } };

/**
 * The operations a route serves as the document names them (`GET /v1/apis/{name}`): a
 * route of every kind (`/v1/:plural/…`) serves one path per kind.
 */
function operationsOf(route: Route): string[] {
  const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
  const paths = path.includes('{plural}') ? [...kindOfPlural.keys()].map((plural) => path.replace('{plural}', plural)) : [path];
  return paths.map((p) => `${route.method} ${p}`);
}

function documented(document: Document): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
}

describe('the OpenAPI document', () => {
  let db: TestDatabase;
  let admin: AdminController;
  let document: Document;
  const routes: Route[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url, {}, { onAdminRoute: (route) => routes.push(route) });
    const response = await call(admin.base, 'GET', '/v1/openapi.json', undefined, { token: null });
    expect(response.status).toBe(200);
    document = response.body as Document;
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(document) as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every registered route with its method, and nothing else', () => {
    // HEAD answers every GET (fastify adds it); the document lists the GET.
    const served = routes.filter((r) => r.method !== 'HEAD');
    for (const head of routes.filter((r) => r.method === 'HEAD')) expect(served.some((r) => r.method === 'GET' && r.url === head.url), head.url).toBe(true);
    const operations = [...new Set(served.flatMap(operationsOf))].sort();
    expect(operations.length).toBeGreaterThan(30);
    expect({ undocumented: operations.filter((o) => !documented(document).includes(o)), notServed: documented(document).filter((o) => !operations.includes(o)) }).toEqual({
      undocumented: [],
      notServed: [],
    });
  });

  it('describes each operation from its route schema: a summary, a unique operationId, what it answers', () => {
    const bare: string[] = [];
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const { summary, operationId, responses = {} } = operation as Operation & { summary?: string; operationId?: string };
        // A route registered without a schema gets @fastify/swagger's placeholder answer.
        const placeholder = Object.values(responses).some((r) => (r as { description?: string }).description === 'Default Response');
        if (summary === undefined || operationId === undefined || placeholder || ids.has(operationId)) bare.push(`${method.toUpperCase()} ${path}`);
        if (operationId !== undefined) ids.add(operationId);
      }
    }
    expect(bare).toEqual([]);
  });

  it('asks for the token exactly where the routes do', () => {
    const publicOperations = new Set(routes.filter((r) => r.public && r.method !== 'HEAD').flatMap(operationsOf));
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const name = `${method.toUpperCase()} ${path}`;
        expect(operation.security, name).toEqual(publicOperations.has(name) ? [] : undefined);
      }
    }
  });

  it('answers errors in the one Error schema, which lists every code the admin API answers with', () => {
    const notError: string[] = [];
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [status, response] of Object.entries(operation.responses ?? {})) {
          const schema = response.content?.['application/json']?.schema?.$ref;
          if (Number(status) >= 400 && !(path === '/readyz' && status === '503') && schema !== '#/components/schemas/Error') notError.push(`${method} ${path} ${status}`);
        }
      }
    }
    expect(notError).toEqual([]);
    const codes = document.components.schemas.Error?.properties?.error?.properties?.code?.enum;
    expect(codes).toEqual([...adminErrorCodes]);
  });

  it('can fail: a route the document does not have is found', () => {
    const missing = operationsOf({ method: 'POST', url: '/v1/:plural/:name/nothing', public: false }).filter((o) => !documented(document).includes(o));
    expect(missing).toHaveLength(kindOfPlural.size);
  });
});
