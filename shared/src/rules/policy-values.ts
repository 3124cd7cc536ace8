/**
 * The rules of the values inside policies that are more than a type and a bound: header
 * names and templates, CIDRs, CORS origins, JSON Web Key Sets.
 */
import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import { isJsonObject, showValue } from './field-checker.ts';

/** Signature algorithms a JWT may use: asymmetric only, so a public key can never verify an HMAC. */
export const jwtAlgorithms = ['RS256', 'ES256', 'EdDSA'] as const;

/** Headers about one connection, never forwarded by the runtime (RFC 9110 §7.6.1). */
export const hopByHopHeaders: ReadonlySet<string> = new Set([
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
 * Headers a policy may not set, add, remove or fill from a claim: those about one
 * connection, the framing of the body, and those the runtime itself sets or reads (the
 * request id, the forwarding headers, the zone-hop marker).
 */
export const reservedHeaders: ReadonlySet<string> = new Set([
  ...hopByHopHeaders,
  'host',
  'content-length',
  'expect',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-causeway-hop',
]);

const tokenPattern = /^[!#$%&'*+.^_`|~0-9a-z-]{1,128}$/;

/** A header name in lower case, or the rule it breaks (as a problem message). */
export function headerNameProblem(raw: string): string | undefined {
  const name = raw.toLowerCase();
  if (!tokenPattern.test(name)) return `${showValue(raw)} is not a header name (letters, digits and !#$%&'*+.^_\`|~-, max 128)`;
  if (reservedHeaders.has(name)) return `${showValue(raw)} is a header the runtime owns (hop-by-hop, framing, host or forwarding)`;
  return undefined;
}

/** `${requestId}`, `${consumer}` or `${jwt.<claim>}` inside a header value. */
export const templatePattern = /\$\{([^}]*)\}/g;
const claimName = /^jwt\.[A-Za-z0-9_:.-]{1,64}$/;

/** A header value template: printable, with known variables only; or the rule it breaks. */
export function headerValueProblem(value: string): string | undefined {
  if (/[^\t\x20-\x7e\x80-\uffff]/.test(value)) return `${showValue(value)} has control characters`;
  for (const match of value.matchAll(templatePattern)) {
    const variable = match[1] ?? '';
    if (variable !== 'requestId' && variable !== 'consumer' && !claimName.test(variable)) {
      return `${showValue(value)} uses \${${variable}}; known: \${requestId}, \${consumer}, \${jwt.<claim>}`;
    }
  }
  return undefined;
}

/** An address or `address/prefix` (IPv4 or IPv6) in canonical text, or the rule it breaks. */
export function canonicalCidr(raw: string): { ok: true; value: string } | { ok: false; rule: string } {
  const slash = raw.indexOf('/');
  const address = slash === -1 ? raw : raw.slice(0, slash);
  const family = isIP(address);
  const bad = { ok: false as const, rule: 'is not an IP address or CIDR (like 10.0.0.0/8 or 2001:db8::/32)' };
  if (family === 0) return bad;
  const maxPrefix = family === 4 ? 32 : 128;
  if (slash === -1) return { ok: true, value: `${address}/${maxPrefix}` };
  const prefix = raw.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > maxPrefix) return bad;
  return { ok: true, value: `${address}/${Number(prefix)}` };
}

const originPattern = /^(https?):\/\/(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)(:\d{1,5})?$/;

/** A CORS origin: `*`, `scheme://host[:port]`, or `scheme://*.domain[:port]` (any subdomain). */
export function corsOriginProblem(origin: string): string | undefined {
  if (origin === '*') return undefined;
  const match = originPattern.exec(origin);
  if (match === null) return `${showValue(origin)} is not *, an origin (https://app.example.com) or a subdomain pattern (https://*.example.com), lower case`;
  const port = match[7];
  if (port !== undefined && Number(port.slice(1)) > 65535) return `${showValue(origin)} has a port above 65535`;
  return undefined;
}

const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const curveByKty: Readonly<Record<string, readonly string[]>> = { EC: ['P-256'], OKP: ['Ed25519'], RSA: [] };

/** The rule one JSON Web Key breaks, or undefined: a public RSA, P-256 or Ed25519 key Node can import. */
function jwkProblem(key: unknown): string | undefined {
  if (!isJsonObject(key)) return 'is not an object';
  const kty = key.kty;
  if (typeof kty !== 'string' || curveByKty[kty] === undefined) return `kty ${showValue(kty)} is not RSA, EC or OKP (symmetric keys are refused)`;
  if (privateMembers.some((m) => key[m] !== undefined)) return 'holds private key material';
  if (key.alg !== undefined && !(jwtAlgorithms as readonly string[]).includes(key.alg as string)) {
    return `alg ${showValue(key.alg)} is not one of ${jwtAlgorithms.join(', ')}`;
  }
  if (key.kid !== undefined && (typeof key.kid !== 'string' || key.kid.length > 256)) return 'kid is not a string of at most 256 characters';
  const curves = curveByKty[kty] ?? [];
  if (curves.length > 0 && !curves.includes(key.crv as string)) return `crv ${showValue(key.crv)} is not ${curves.join(' or ')}`;
  try {
    const imported = createPublicKey({ key: key as Parameters<typeof createPublicKey>[0] & object, format: 'jwk' } as never);
    if (kty === 'RSA' && (imported.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return 'is an RSA key shorter than 2048 bits';
  } catch {
    return 'is not a valid public key';
  }
  return undefined;
}

/** The problems of a JSON Web Key Set (`{"keys": [...]}`), each as [path suffix, message]. */
export function jwksProblems(jwks: unknown, maxKeys: number): [string, string][] {
  if (!isJsonObject(jwks) || !Array.isArray(jwks.keys)) return [['', `${showValue(jwks)} is not a JSON Web Key Set ({"keys": [...]})`]];
  if (jwks.keys.length === 0) return [['.keys', 'is empty']];
  if (jwks.keys.length > maxKeys) return [['.keys', `has ${jwks.keys.length} keys; at most ${maxKeys} are allowed`]];
  const problems: [string, string][] = [];
  jwks.keys.forEach((key: unknown, i) => {
    const rule = jwkProblem(key);
    if (rule !== undefined) problems.push([`.keys[${i}]`, rule]);
  });
  return problems;
}
