import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * A small upstream gateway for trying Causeway out (and for its tests): answers every
 * request with JSON saying who answered and what arrived. `?delayMs=` delays the
 * answer, `?status=` picks the status code; a request body is read and summarised.
 * `GET /.sample/stats` counts the requests it answered, by method.
 *
 * Dedicated allocations hand a gateway its tenant at `/.well-known/causeway/handshake`
 * (POST, and DELETE to take it back): the sample records each one, listed by
 * `GET /.sample/handshakes`, and answers as `PUT /.sample/handshakes?post=MODE&delete=MODE`
 * says, MODE being `ok` (200), `fail` (500) or `hang` (no answer at all).
 *
 *   node sample-upstream.ts NAME PORT [HOST]
 */
const [name = 'sample', portText = '0', host = '127.0.0.1'] = process.argv.slice(2);

function answer(req: IncomingMessage, res: ServerResponse, body: { bytes: number; sha256: string }): void {
  const url = new URL(req.url ?? '/', 'http://upstream');
  const delayMs = Math.min(Number(url.searchParams.get('delayMs') ?? 0) || 0, 600_000);
  const status = Number(url.searchParams.get('status') ?? 200) || 200;
  const payload = JSON.stringify({
    upstream: name,
    method: req.method,
    path: url.pathname,
    query: url.search,
    headers: {
      host: req.headers.host,
      'x-forwarded-for': req.headers['x-forwarded-for'],
      'x-forwarded-proto': req.headers['x-forwarded-proto'],
      'x-forwarded-host': req.headers['x-forwarded-host'],
      'x-request-id': req.headers['x-request-id'],
      'x-consumer': req.headers['x-consumer'],
    },
    body,
  });
  const send = (): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-upstream': name });
    res.end(payload);
  };
  if (delayMs > 0) setTimeout(send, delayMs);
  else send();
}

const served = new Map<string, number>();

const HANDSHAKE_PATH = '/.well-known/causeway/handshake';
const MAX_HANDSHAKES = 1_000;
const handshakeModes = ['ok', 'fail', 'hang'] as const;
type HandshakeMode = (typeof handshakeModes)[number];
const modes: Record<string, HandshakeMode> = { POST: 'ok', DELETE: 'ok' };
const handshakes: { method: string; body: unknown; answer: HandshakeMode; at: string }[] = [];

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** `?post=fail&delete=ok`: how the next handshakes are answered. */
function setModes(url: URL, res: ServerResponse): void {
  for (const method of ['post', 'delete']) {
    const mode = url.searchParams.get(method);
    if (mode === null) continue;
    if (!(handshakeModes as readonly string[]).includes(mode)) return json(res, 400, { error: `${method}: not one of ${handshakeModes.join(', ')}` });
    modes[method.toUpperCase()] = mode as HandshakeMode;
  }
  json(res, 200, { modes });
}

function handshake(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = null;
    }
    const answer = modes[req.method ?? ''] ?? 'ok';
    if (handshakes.length < MAX_HANDSHAKES) handshakes.push({ method: req.method ?? '', body, answer, at: new Date().toISOString() });
    if (answer === 'ok') json(res, 200, { upstream: name, accepted: body });
    else if (answer === 'fail') json(res, 500, { upstream: name, error: 'handshake refused (sample upstream told to fail)' });
    // `hang`: no answer; the caller's time-out ends it.
  });
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://upstream');
  if (url.pathname === '/.sample/stats') return json(res, 200, { upstream: name, requests: Object.fromEntries(served) });
  if (url.pathname === '/.sample/handshakes') return req.method === 'PUT' ? setModes(url, res) : json(res, 200, { modes, items: handshakes });
  if (url.pathname === HANDSHAKE_PATH && (req.method === 'POST' || req.method === 'DELETE')) return handshake(req, res);
  served.set(req.method ?? 'GET', (served.get(req.method ?? 'GET') ?? 0) + 1);
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => answer(req, res, { bytes, sha256: hash.digest('hex') }));
});
server.keepAliveTimeout = 65_000;
server.listen(Number(portText), host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : portText;
  process.stdout.write(`${JSON.stringify({ msg: 'sample upstream listening', name, host, port })}\n`);
});
const stop = (): void => {
  server.close();
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
