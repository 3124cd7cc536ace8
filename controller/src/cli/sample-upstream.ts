import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * A small upstream gateway for trying Causeway out (and for its tests): answers every
 * request with JSON saying who answered and what arrived. `?delayMs=` delays the
 * answer, `?status=` picks the status code; a request body is read and summarised.
 * `GET /.sample/stats` counts the requests it answered, by method.
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

const server = createServer((req, res) => {
  if (req.url === '/.sample/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ upstream: name, requests: Object.fromEntries(served) }));
    return;
  }
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
