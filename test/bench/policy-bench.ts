// The policy part of `npm run bench:proxy`: the same runtime, API and upstream as the
// plain run, with a policy chain in front: API key + rate limit, JWT (RS256, ES256) + rate
// limit, headers + CORS. Each is its own API on the bench pool, so one runtime serves all.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { admin } from './lib.ts';

export interface PolicyLoad {
  readonly label: string;
  readonly path: string;
  readonly headers: readonly string[];
  /** The least share of the no-policy throughput it should keep (undefined: no target). */
  readonly target?: number;
}

/** High enough never to refuse during a run: what is measured is the bucket's cost, not 429s. */
const rateLimit = { requests: 1_000_000, per: 'second', by: 'ip' };

function signer(kind: 'rsa' | 'ec'): { jwk: object; token: (claims: object) => string } {
  const { privateKey, publicKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const alg = kind === 'rsa' ? 'RS256' : 'ES256';
  const kid = `bench-${alg}`;
  return {
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
    token: (claims) => signed(privateKey, alg, kid, claims),
  };
}

function signed(key: KeyObject, alg: string, kid: string, claims: object): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg, typ: 'JWT', kid })}.${part(claims)}`;
  const signature = sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}

const api = (name: string, policies: object): object => ({
  kind: 'Api',
  metadata: { name },
  spec: { basePath: `/${name}`, upstream: { pool: 'bench' }, retries: { attempts: 2 }, failover: { enabled: true }, policies },
});

/** Writes the policy APIs (and a consumer with a key) through `adminUrl`; the loads to run, each with its request headers. */
export async function configurePolicyLoads(adminUrl: string, path: string): Promise<PolicyLoad[]> {
  const rs = signer('rsa');
  const es = signer('ec');
  const issuer = (name: string, jwk: object) => ({ issuer: `https://${name}.bench.example`, jwks: { keys: [jwk] } });
  await admin(adminUrl, 'POST', '/v1/apply', {
    items: [
      { kind: 'Consumer', metadata: { name: 'bench-client' }, spec: {} },
      api('p-key', { apiKey: {}, rateLimit: { ...rateLimit, by: 'consumer' } }),
      api('p-rs256', { jwt: { issuers: [issuer('rs', rs.jwk)] }, rateLimit }),
      api('p-es256', { jwt: { issuers: [issuer('es', es.jwk)] }, rateLimit }),
      api('p-headers', {
        cors: { allowOrigins: ['https://*.example.com'], allowHeaders: ['authorization'] },
        requestHeaders: { set: { 'x-request': '${requestId}' }, remove: ['cookie'] },
        responseHeaders: { set: { 'x-frame-options': 'DENY' } },
      }),
    ],
  });
  const key = ((await admin(adminUrl, 'POST', '/v1/consumers/bench-client/keys', {})).body as { secret: string }).secret;
  const exp = Math.floor(Date.now() / 1000) + 24 * 3600;
  const suffix = path.slice('/bench'.length);
  return [
    { label: 'API key + rate limit', path: `/p-key${suffix}`, headers: [`x-api-key: ${key}`], target: 0.85 },
    { label: 'JWT RS256 + rate limit', path: `/p-rs256${suffix}`, headers: [`authorization: Bearer ${rs.token({ iss: 'https://rs.bench.example', sub: 'u', exp })}`], target: 0.75 },
    { label: 'JWT ES256 + rate limit', path: `/p-es256${suffix}`, headers: [`authorization: Bearer ${es.token({ iss: 'https://es.bench.example', sub: 'u', exp })}`], target: 0.75 },
    { label: 'headers + CORS', path: `/p-headers${suffix}`, headers: ['origin: https://app.example.com'] },
  ];
}
