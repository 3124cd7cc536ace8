// The Node.js processes of `npm run bench:proxy` besides Causeway itself, one per process:
//
//   node proxy-peers.ts upstream                the upstream: 1 KiB JSON (100 KiB for a path ending in /big), keep-alive
//   node proxy-peers.ts undici <origin>         a bare pass-through on undici's dispatch: no routing, health or metrics
//   node proxy-peers.ts http-proxy <origin>     a plain proxy on the http-proxy package, with a keep-alive agent
//
// Each listens on a free loopback port and prints {"msg":"listening","port":N}.
import { Agent, createServer, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import httpProxy from 'http-proxy';
import { Pool, type Dispatcher } from 'undici';

function jsonOfSize(bytes: number): Buffer {
  const head = '{"items":"';
  const tail = '"}';
  return Buffer.from(head + 'x'.repeat(bytes - head.length - tail.length) + tail);
}

function upstream(): RequestListener {
  const small = jsonOfSize(1024);
  const big = jsonOfSize(100 * 1024);
  const headersOf = (body: Buffer): string[] => ['content-type', 'application/json', 'content-length', String(body.length)];
  const smallHeaders = headersOf(small);
  const bigHeaders = headersOf(big);
  return (req, res) => {
    const isBig = req.url?.endsWith('/big') === true;
    const answer = (): void => {
      res.writeHead(200, isBig ? bigHeaders : smallHeaders);
      res.end(isBig ? big : small);
    };
    if (req.method === 'GET' || req.method === 'HEAD') answer();
    else req.on('data', () => undefined).on('end', answer);
  };
}

const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade', 'proxy-connection', 'host']);

/** Writes an upstream's answer to the client: headers without hop-by-hop ones, the body with backpressure. */
export class ResponseWriter implements Dispatcher.DispatchHandler {
  private readonly res: ServerResponse;
  constructor(res: ServerResponse) {
    this.res = res;
  }
  onRequestStart(): void {}
  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    const out: string[] = [];
    for (const name in headers) {
      const value = headers[name];
      if (typeof value === 'string' && !hopByHop.has(name)) out.push(name, value);
    }
    this.res.writeHead(status, out);
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }
  onResponseEnd(): void {
    this.res.end();
  }
  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.res.headersSent) this.res.destroy(error);
    else this.res.writeHead(502).end();
  }
}

/** About the least a Node.js proxy can do per request: one dispatch, headers passed through, backpressure. */
function undiciPassThrough(origin: string): RequestListener {
  const pool = new Pool(origin);
  return (req: IncomingMessage, res: ServerResponse) => {
    const headers: string[] = [];
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] ?? '';
      if (!hopByHop.has(name.toLowerCase())) headers.push(name, raw[i + 1] ?? '');
    }
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers, body: hasBody ? req : null }, new ResponseWriter(res));
  };
}

function httpProxyPeer(origin: string): RequestListener {
  const proxy = httpProxy.createProxyServer({ target: origin, agent: new Agent({ keepAlive: true, maxSockets: 256 }) });
  proxy.on('error', (_error, _req, res) => {
    if ('writeHead' in res && !res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  return (req, res) => proxy.web(req, res);
}

const [mode, origin = ''] = process.argv.slice(2);
const listener = mode === 'upstream' ? upstream() : mode === 'undici' ? undiciPassThrough(origin) : mode === 'http-proxy' ? httpProxyPeer(origin) : undefined;
if (listener === undefined) {
  console.error('usage: proxy-peers.ts upstream | undici <origin> | http-proxy <origin>');
  process.exit(2);
}
const server = createServer(listener);
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ msg: 'listening', port: typeof address === 'object' && address !== null ? address.port : 0 }));
});
