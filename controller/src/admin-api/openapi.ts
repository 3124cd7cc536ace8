import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { SOFTWARE_VERSION } from '@causeway/shared';
import { kinds, type Kind } from '../store/records.ts';
import { pluralOf } from './documents.ts';
import { documentSchemas } from './document-schemas.ts';
import { KINDS_KEY, OPTIONAL_BODY_KEY } from './schema-helpers.ts';

type Operation = Record<string, unknown> & { parameters?: { name: string; schema?: Record<string, unknown> }[]; requestBody?: { required?: boolean } };
type Paths = Record<string, Record<string, Operation>>;

const description = `Every route needs \`Authorization: Bearer <token>\` except those with no security.
Bodies are JSON or YAML. Errors answer the Error schema; besides those listed per operation, any request may get
408 \`request_timeout\`, 414 \`uri_too_long\` or 431 \`headers_too_large\`. Guide: docs/admin-api.md.`;

/** An operation of a `/v1/{plural}` route as the path of one kind has it: `Document` is that kind. */
function forKind(operation: Operation, kind: Kind): Operation {
  const copy = JSON.parse(JSON.stringify(operation).replaceAll('Document', kind)) as Operation;
  if (copy.parameters === undefined) return copy;
  copy.parameters = copy.parameters.filter((p) => p.name !== 'plural' && (p.schema?.[KINDS_KEY] as string[] | undefined)?.includes(kind) !== false);
  for (const parameter of copy.parameters) delete parameter.schema?.[KINDS_KEY];
  return copy;
}

/**
 * One route serves every kind (`/v1/:plural/:name`); a client sees one path per kind, so the
 * document lists them so. Where a kind's path has a route of its own, that route answers
 * (the router prefers a static segment), and the document says what it says.
 */
function pathPerKind(paths: Paths): void {
  for (const [path, item] of Object.entries(paths)) {
    if (!path.includes('{plural}')) continue;
    delete paths[path];
    for (const kind of kinds) {
      const served = (paths[path.replace('{plural}', pluralOf[kind])] ??= {});
      for (const [method, operation] of Object.entries(item)) served[method] ??= forKind(operation, kind);
    }
  }
}

function optionalBodies(paths: Paths): void {
  for (const operation of Object.values(paths).flatMap((item) => Object.values(item))) {
    if (operation[OPTIONAL_BODY_KEY] === true && operation.requestBody !== undefined) operation.requestBody.required = false;
    delete operation[OPTIONAL_BODY_KEY];
  }
}

/** The document as @fastify/swagger made it from the routes, as a client reads it. */
function finish<T extends { paths?: unknown; components?: unknown }>(document: T): T {
  const paths = (document.paths ?? {}) as Paths;
  pathPerKind(paths);
  optionalBodies(paths);
  // A stand-in left unnamed by every path (`Document` stays for POST /v1/apply, which takes any kind).
  const schemas = (document.components as { schemas?: Record<string, unknown> } | undefined)?.schemas ?? {};
  const named = JSON.stringify(paths);
  for (const standIn of ['Document', 'DocumentList']) if (!named.includes(`/${standIn}"`)) delete schemas[standIn];
  return { ...document, paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))) };
}

/**
 * Makes the admin API describe itself: the `schema` option of each route registered once
 * the plugin has loaded (route-schemas.ts) becomes its operation in the document that
 * `app.swagger()` returns. Schemas only document: fastify neither validates requests nor
 * serializes replies with them, so bodies are checked by validate.ts (which names the
 * field, the value and the rule) and replies are written exactly as the handlers make them.
 */
export function registerOpenApi(app: FastifyInstance): void {
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  for (const schema of documentSchemas) app.addSchema(schema);
  app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Causeway admin API', version: SOFTWARE_VERSION, description },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Shared schemas keep their own names (`Api`, `Error`) in components.schemas.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    convertConstToEnum: false,
    transformObject: (document) => ('openapiObject' in document ? finish(document.openapiObject) : document.swaggerObject),
  });
}
