/** HTTP/1.1 on the wire for tests: raw bytes to a listener, and a strict parser of what comes back. */
import { connect, type Socket } from 'node:net';
import type { Address } from '@causeway/shared';

export interface WireResponse {
  readonly status: number;
  /** Header names lower-cased, in order. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

export interface WireExchange {
  /** Every byte the server sent. */
  readonly raw: Buffer;
  /** The responses those bytes make, in order (interim 1xx included). */
  readonly responses: readonly WireResponse[];
  /** The server closed the connection (always, unless `waitFor` stopped the wait). */
  readonly closed: boolean;
  readonly ms: number;
}

class MalformedResponse extends Error {}

const statusLine = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/;
const headerLine = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*?)[ \t]*$/;

function header(response: Pick<WireResponse, 'headers'>, name: string): string | undefined {
  return response.headers.find(([n]) => n === name)?.[1];
}

/** Parses chunked body bytes from `start`; the end offset, or -1 when more bytes are needed. */
function chunkedEnd(data: Buffer, start: number, body: Buffer[]): number {
  let at = start;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) return -1;
    const sizeText = data.toString('latin1', at, lineEnd).split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new MalformedResponse(`bad chunk size ${JSON.stringify(sizeText)}`);
    const size = parseInt(sizeText, 16);
    at = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = data.indexOf('\r\n\r\n', at - 2);
      return trailerEnd === -1 ? -1 : trailerEnd + 4;
    }
    if (data.length < at + size + 2) return -1;
    body.push(data.subarray(at, at + size));
    if (data.toString('latin1', at + size, at + size + 2) !== '\r\n') throw new MalformedResponse('chunk not followed by CRLF');
    at += size + 2;
  }
}

/**
 * One response from the start of `data`: the response and the bytes it took, undefined
 * when incomplete. A response framed by neither Content-Length nor chunked ends with the
 * connection (`closed`). Throws MalformedResponse on anything that is not HTTP/1.1.
 */
function parseResponse(data: Buffer, head: boolean, closed: boolean): { response: WireResponse; bytes: number } | undefined {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd === -1) {
    if (closed) throw new MalformedResponse(`truncated head: ${JSON.stringify(data.toString('latin1', 0, 200))}`);
    return undefined;
  }
  const [first = '', ...lines] = data.toString('latin1', 0, headEnd).split('\r\n');
  const status = statusLine.exec(first);
  if (status === null) throw new MalformedResponse(`bad status line ${JSON.stringify(first)}`);
  const headers = lines.map((line) => {
    const match = headerLine.exec(line);
    if (match === null) throw new MalformedResponse(`bad header line ${JSON.stringify(line)}`);
    return [match[1]?.toLowerCase() ?? '', match[2] ?? ''] as const;
  });
  const code = Number(status[1]);
  const start = headEnd + 4;
  const done = (end: number, body: Buffer): { response: WireResponse; bytes: number } => ({ response: { status: code, headers, body }, bytes: end });
  if (code < 200 || code === 204 || code === 304 || head) return done(start, Buffer.alloc(0));
  const te = header({ headers }, 'transfer-encoding');
  const length = header({ headers }, 'content-length');
  if (te !== undefined) {
    if (te.toLowerCase() !== 'chunked' || length !== undefined) throw new MalformedResponse(`bad framing: te ${te}, length ${length}`);
    const chunks: Buffer[] = [];
    const end = chunkedEnd(data, start, chunks);
    if (end === -1) {
      if (closed) throw new MalformedResponse('truncated chunked body');
      return undefined;
    }
    return done(end, Buffer.concat(chunks));
  }
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) throw new MalformedResponse(`bad content-length ${length}`);
    const end = start + Number(length);
    if (data.length < end) {
      if (closed) throw new MalformedResponse('truncated body');
      return undefined;
    }
    return done(end, data.subarray(start, end));
  }
  return closed ? done(data.length, data.subarray(start)) : undefined;
}

/**
 * Every response in `data`, in order; throws MalformedResponse when the bytes are not a
 * sequence of responses. `head`: the first request was a HEAD (its final response has no body).
 */
function parseResponses(data: Buffer, head: boolean, closed: boolean): WireResponse[] {
  const responses: WireResponse[] = [];
  let rest = data;
  let headPending = head;
  while (rest.length > 0) {
    const parsed = parseResponse(rest, headPending, closed);
    if (parsed === undefined) break;
    responses.push(parsed.response);
    if (parsed.response.status >= 200) headPending = false;
    rest = rest.subarray(parsed.bytes);
  }
  if (closed && rest.length > 0) throw new MalformedResponse(`trailing bytes ${JSON.stringify(rest.toString('latin1', 0, 200))}`);
  return responses;
}

export interface SendOptions {
  /** The (first) request was a HEAD: its final response has no body. */
  readonly head?: boolean;
  /** Resolve as soon as the responses received satisfy this (the connection stays open until `socket` is destroyed). */
  readonly waitFor?: (responses: readonly WireResponse[]) => boolean;
  /** Called with the socket once connected, to write more or pause reading. */
  readonly onSocket?: (socket: Socket) => void;
  /** Written once the first final response is complete, if the connection is still open (not pipelined). */
  readonly afterFirst?: string;
  /** Fails the exchange when the server has neither closed nor satisfied `waitFor` by then. */
  readonly deadlineMs?: number;
}

/**
 * Sends `bytes` on a new connection and collects what comes back until the server closes
 * the connection (or `waitFor` is satisfied); a reset counts as a close.
 */
export function sendRaw(address: Address, bytes: string | Buffer, options: SendOptions = {}): Promise<WireExchange> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(address.port, address.host);
    const chunks: Buffer[] = [];
    let settled = false;
    let followed = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      const raw = Buffer.concat(chunks);
      let responses: WireResponse[];
      try {
        responses = parseResponses(raw, options.head === true, closed);
      } catch (error) {
        if (!closed) return; // a partial response is judged once complete or closed
        settled = true;
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (!closed && options.afterFirst !== undefined && !followed && responses.some((r) => r.status >= 200)) {
        followed = true;
        socket.write(Buffer.from(options.afterFirst, 'latin1'));
      }
      if (!closed && options.waitFor?.(responses) !== true) return;
      settled = true;
      resolve({ raw, responses, closed, ms: performance.now() - started });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      finish(false);
    });
    const deadline =
      options.deadlineMs === undefined
        ? undefined
        : setTimeout(() => {
            if (settled) return;
            settled = true;
            socket.destroy();
            reject(new Error(`no close within ${options.deadlineMs} ms; received ${JSON.stringify(Buffer.concat(chunks).toString('latin1', 0, 200))}`));
          }, options.deadlineMs);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(deadline);
      finish(true);
    });
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    options.onSocket?.(socket);
  });
}

/** The JSON error body of a runtime answer. */
export function errorBody(response: WireResponse): { code: string; message: string } {
  return (JSON.parse(response.body.toString('utf8')) as { error: { code: string; message: string } }).error;
}

export { header as responseHeader };
