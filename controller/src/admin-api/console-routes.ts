import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CausewayError } from '@causeway/shared';
import { publicRoute } from './access.ts';
import { sendError } from './error-replies.ts';
import { errorResponse } from './schema-helpers.ts';

/** Where `npm install` (or `npm run build -w console`) leaves the built console. */
const DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

/**
 * The page holds no data and runs only its own files: every API call it makes carries the
 * token the operator typed. No inline script or style, nothing from another origin, never framed.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const types: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

interface ConsoleFile {
  readonly body: Buffer;
  /** The body gzip-compressed once at start, sent to browsers that accept it. */
  readonly gzipped: Buffer;
  readonly type: string;
}

function consoleFile(body: Buffer, type: string): ConsoleFile {
  return { body, gzipped: gzipSync(body, { level: constants.Z_BEST_COMPRESSION }), type };
}

/** Whether the request's Accept-Encoding allows gzip (a `q=0` refuses it). */
function acceptsGzip(request: FastifyRequest): boolean {
  const header = request.headers['accept-encoding'];
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    const refused = params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
    return (coding.trim() === 'gzip' || coding.trim() === '*') && !refused;
  });
}

/** The built files, read once: index.html and the content-hashed assets beside it. */
function loadConsole(dir: string): { index: ConsoleFile | undefined; assets: ReadonlyMap<string, ConsoleFile> } {
  const assets = new Map<string, ConsoleFile>();
  const assetDir = join(dir, 'assets');
  if (existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) assets.set(name, consoleFile(readFileSync(join(assetDir, name)), types[extname(name)] ?? 'application/octet-stream'));
  }
  const indexPath = join(dir, 'index.html');
  const index = existsSync(indexPath) ? consoleFile(readFileSync(indexPath), 'text/html; charset=utf-8') : undefined;
  return { index, assets };
}

function send(request: FastifyRequest, reply: FastifyReply, file: ConsoleFile, cacheControl: string): FastifyReply {
  const gzip = acceptsGzip(request);
  if (gzip) reply.header('content-encoding', 'gzip');
  return reply
    .header('vary', 'accept-encoding')
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', cacheControl)
    .type(file.type)
    .send(gzip ? file.gzipped : file.body);
}

const page = { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } };
const asset = { description: 'The file', content: { 'application/octet-stream': { schema: { type: 'string' } } } };
const tags = ['Console'];
const schemas = {
  index: { tags, operationId: 'consolePage', summary: 'The web console (docs/console.md); it asks for a token', security: [], response: { 200: page, 404: errorResponse(404) } },
  asset: {
    tags,
    operationId: 'consoleAsset',
    summary: 'A script or style of the web console, named by its content hash (cached for a year)',
    security: [],
    params: { type: 'object', properties: { file: { type: 'string' } }, required: ['file'] },
    response: { 200: asset, 404: errorResponse(404) },
  },
};

/** The web console at /console/, served by every controller from the files built at install. */
export function registerConsoleRoutes(app: FastifyInstance): void {
  const { index, assets } = loadConsole(DIST);
  // Compressed once at start (see send); the admin API's on-the-fly compression stays out.
  app.get('/console/', { ...publicRoute, compress: false, schema: schemas.index }, async (request, reply) => {
    if (index === undefined) return sendError(reply, new CausewayError('not_found', 'the console is not built: run npm run build -w console'));
    // Always asked again, so that a new build's asset names are picked up at once.
    return send(request, reply, index, 'no-cache');
  });
  app.get<{ Params: { file: string } }>('/console/assets/:file', { ...publicRoute, compress: false, schema: schemas.asset }, async (request, reply) => {
    const file = assets.get(request.params.file);
    if (file === undefined) return sendError(reply, new CausewayError('not_found', `no such console file: ${request.params.file}`));
    return send(request, reply, file, 'public, max-age=31536000, immutable');
  });
}
