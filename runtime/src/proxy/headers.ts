import type { IncomingHttpHeaders } from 'node:http';
import { hopByHopHeaders as hopByHop, type ErrorCode } from '@causeway/shared';
import { hopHeader } from './hop-marker.ts';

/**
 * Request headers the proxy sets itself; `expect` is answered by Node and refused by
 * undici. The hop marker is read and never sent on, verified or not.
 */
const replacedOnRequest: ReadonlySet<string> = new Set([
  hopHeader,
  ...hopByHop,
  'host',
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
]);

const replacedOnResponse: ReadonlySet<string> = new Set([...hopByHop, 'x-request-id']);

/** Why a request is answered by the runtime itself, from its headers alone. */
export interface HeadRefusal {
  readonly code: ErrorCode;
  readonly message: string;
}

const duplicateHost: HeadRefusal = Object.freeze({ code: 'invalid_argument', message: 'the request has more than one Host header' });
const invalidHost: HeadRefusal = Object.freeze({
  code: 'invalid_argument',
  message: "the Host header is not host[:port] (no '/', '?', '#', '@', '\\' or whitespace; port 0-65535)",
});
const unsupportedTransferEncoding: HeadRefusal = Object.freeze({
  code: 'not_implemented',
  message: 'the only Transfer-Encoding accepted is chunked, sent once',
});

/** What the proxy needs from a request's headers, read in one pass. */
export interface RequestHead {
  /** The Host header as sent. */
  readonly host: string | undefined;
  /** Set when the headers alone decide the answer (a bad or repeated Host, an unsupported Transfer-Encoding). */
  readonly refusal: HeadRefusal | undefined;
  /** The Content-Length as sent (Node checked it is one number), -1 without one. */
  readonly contentLength: number;
  readonly requestId: string | undefined;
  readonly forwardedFor: string | undefined;
  /** The hop marker as sent (see hop-marker.ts): to be verified before it counts. */
  readonly hopMarker: string | undefined;
  /** A body follows (non-zero Content-Length, or Transfer-Encoding). */
  readonly hasBody: boolean;
  /** The headers to forward, as a flat name/value list, without the ones the proxy sets. */
  readonly forwarded: string[];
}

const noTokens: readonly string[] = Object.freeze([]);

/** Extra names listed in `Connection` (other than keep-alive/close), lower-cased. */
function connectionTokens(value: string): readonly string[] {
  // Nearly every message says just "keep-alive" or "close".
  if (value === 'keep-alive' || value === 'close') return noTokens;
  const tokens: string[] = [];
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive') tokens.push(name);
  }
  return tokens;
}

/** Characters a Host never has outside an IPv6 literal: `/ ? # @ \ [ ]`, space, tab, DEL, control characters. */
function badHostChar(c: number): boolean {
  return c <= 32 || c === 47 || c === 63 || c === 35 || c === 64 || c === 92 || c === 91 || c === 93 || c === 127;
}

/** Inside `[...]`: hex digits, ':' and '.' (an IPv6 literal, IPv4-suffixed or not). */
function ipv6Char(c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 46;
}

/** 1 to 5 digits from `start` to the end, at most 65535. */
function validPort(value: string, start: number): boolean {
  const length = value.length - start;
  if (length < 1 || length > 5) return false;
  let port = 0;
  for (let i = start; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    port = port * 10 + (c - 48);
  }
  return port <= 65535;
}

/**
 * Whether a Host value is `host[:port]` (nginx's rules, stricter on the port): a non-empty
 * name or IPv4 address without `/ ? # @ \` or whitespace, or a bracketed IPv6 literal; an
 * optional port of digits up to 65535 (`a.com:` and `a.com:x` are not).
 */
function validHost(value: string): boolean {
  const length = value.length;
  if (length === 0) return false;
  let i = 0;
  if (value.charCodeAt(0) === 91) {
    const close = value.indexOf(']');
    if (close < 2) return false;
    for (i = 1; i < close; i++) if (!ipv6Char(value.charCodeAt(i))) return false;
    i = close + 1;
  } else {
    while (i < length) {
      const c = value.charCodeAt(i);
      if (c === 58) break;
      if (badHostChar(c)) return false;
      i++;
    }
    if (i === 0) return false;
  }
  if (i === length) return true;
  return value.charCodeAt(i) === 58 && validPort(value, i + 1);
}

/** `chunked`, in any case (Node has trimmed the value). */
function isChunked(value: string): boolean {
  return value.length === 7 && (value === 'chunked' || value.toLowerCase() === 'chunked');
}

function withoutNames(flat: string[], names: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] ?? '';
    if (!names.includes(name.toLowerCase())) kept.push(name, flat[i + 1] ?? '');
  }
  return kept;
}

/** One pass over a request's headers; reused (reads are synchronous), so a request costs no reader. */
class HeadReader {
  host: string | undefined = undefined;
  refusal: HeadRefusal | undefined = undefined;
  contentLength = -1;
  transferEncodings = 0;
  requestId: string | undefined = undefined;
  forwardedFor: string | undefined = undefined;
  hopMarker: string | undefined = undefined;
  hasBody = false;
  dropped: readonly string[] | undefined = undefined;
  forwarded: string[] = [];

  reset(): void {
    this.host = this.refusal = this.requestId = this.forwardedFor = this.hopMarker = this.dropped = undefined;
    this.contentLength = -1;
    this.transferEncodings = 0;
    this.hasBody = false;
    this.forwarded = [];
  }

  /** A header the proxy sets itself or reads: noted, never forwarded as is. */
  replaced(lower: string, value: string): void {
    switch (lower) {
      case 'host':
        if (this.host !== undefined) this.refusal ??= duplicateHost;
        else if (!validHost(value)) this.refusal ??= invalidHost;
        this.host ??= value;
        break;
      case 'x-request-id':
        this.requestId ??= value;
        break;
      case 'x-forwarded-for':
        this.forwardedFor = this.forwardedFor === undefined ? value : `${this.forwardedFor}, ${value}`;
        break;
      case 'transfer-encoding':
        this.hasBody = true;
        // Anything but one `chunked` (gzip, chunked; identity; chunked twice) is not re-coded here: 501.
        if (++this.transferEncodings > 1 || !isChunked(value)) this.refusal ??= unsupportedTransferEncoding;
        break;
      case hopHeader:
        this.hopMarker ??= value;
        break;
      case 'connection': {
        const tokens = connectionTokens(value);
        if (tokens.length > 0) this.dropped = [...(this.dropped ?? []), ...tokens];
        break;
      }
    }
  }

  result(): RequestHead {
    return {
      host: this.host,
      refusal: this.refusal,
      contentLength: this.contentLength,
      requestId: this.requestId === '' ? undefined : this.requestId,
      forwardedFor: this.forwardedFor,
      hopMarker: this.hopMarker,
      hasBody: this.hasBody,
      forwarded: this.dropped === undefined ? this.forwarded : withoutNames(this.forwarded, this.dropped),
    };
  }
}

const reader = new HeadReader();

/**
 * Reads `req.rawHeaders` once: what to forward, the few values the proxy uses, and
 * whether the headers alone refuse the request. Node's parser has refused what is not
 * HTTP already (bad characters, Content-Length with Transfer-Encoding, two
 * Content-Lengths); what it lets through that the proxy must not forward is caught here.
 */
export function readRequestHead(raw: readonly string[]): RequestHead {
  reader.reset();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const value = raw[i + 1] ?? '';
    const lower = name.toLowerCase();
    if (replacedOnRequest.has(lower)) {
      reader.replaced(lower, value);
      continue;
    }
    if (lower === 'content-length') {
      reader.contentLength = Number(value);
      if (reader.contentLength !== 0) reader.hasBody = true;
    }
    reader.forwarded.push(name, value);
  }
  return reader.result();
}

/**
 * The response headers to send to the client: the upstream's without hop-by-hop ones,
 * plus X-Request-Id. A flat list, which `writeHead` takes without copying into a map.
 */
export function responseHeaders(headers: IncomingHttpHeaders, requestId: string): string[] {
  const connection = headers.connection;
  const dropped = typeof connection === 'string' ? connectionTokens(connection) : noTokens;
  const out: string[] = [];
  for (const name in headers) {
    if (replacedOnResponse.has(name) || (dropped.length > 0 && dropped.includes(name))) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const item of value) out.push(name, item);
  }
  out.push('x-request-id', requestId);
  return out;
}
