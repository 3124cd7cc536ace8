import type { IncomingHttpHeaders } from 'node:http';

/** Headers about one connection, never forwarded (RFC 9110 §7.6.1). */
const hopByHop: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * Set by a runtime that forwards a request to another zone's DTC URL, naming its own
 * zone: the receiving runtime never forwards such a request again. Not sent to members.
 */
export const failoverFromHeader = 'x-causeway-failover-from';

/** Request headers the proxy sets itself; `expect` is answered by Node and refused by undici. */
const replacedOnRequest: ReadonlySet<string> = new Set([
  failoverFromHeader,
  ...hopByHop,
  'host',
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
]);

const replacedOnResponse: ReadonlySet<string> = new Set([...hopByHop, 'x-request-id']);

/** What the proxy needs from a request's headers, read in one pass. */
export interface RequestHead {
  /** The Host header as sent. */
  readonly host: string | undefined;
  readonly requestId: string | undefined;
  readonly forwardedFor: string | undefined;
  /** The zone of the runtime that forwarded this request here by failover, if one did. */
  readonly failoverFrom: string | undefined;
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

function withoutNames(flat: string[], names: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] ?? '';
    if (!names.includes(name.toLowerCase())) kept.push(name, flat[i + 1] ?? '');
  }
  return kept;
}

/** Reads `req.rawHeaders` once: what to forward and the few values the proxy uses. */
export function readRequestHead(raw: readonly string[]): RequestHead {
  let host: string | undefined;
  let requestId: string | undefined;
  let forwardedFor: string | undefined;
  let failoverFrom: string | undefined;
  let hasBody = false;
  let dropped: readonly string[] | undefined;
  const forwarded: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const value = raw[i + 1] ?? '';
    const lower = name.toLowerCase();
    if (!replacedOnRequest.has(lower)) {
      if (lower === 'content-length' && value !== '0') hasBody = true;
      forwarded.push(name, value);
      continue;
    }
    switch (lower) {
      case 'host':
        host ??= value;
        break;
      case 'x-request-id':
        requestId ??= value;
        break;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        break;
      case 'transfer-encoding':
        hasBody = true;
        break;
      case failoverFromHeader:
        failoverFrom ??= value;
        break;
      case 'connection': {
        const tokens = connectionTokens(value);
        if (tokens.length > 0) dropped = [...(dropped ?? []), ...tokens];
        break;
      }
    }
  }
  return {
    host,
    requestId: requestId === '' ? undefined : requestId,
    forwardedFor,
    failoverFrom,
    hasBody,
    forwarded: dropped === undefined ? forwarded : withoutNames(forwarded, dropped),
  };
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
