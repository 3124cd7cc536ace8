import { createHash } from 'node:crypto';
import type { ApiKeyPolicy } from '@causeway/shared';

/** A consumer and the SHA-256 digests of its live keys, as the controller sends them. */
export interface ConsumerKeys {
  readonly name: string;
  readonly keyDigests: readonly Uint8Array[];
}

export type KeyResult =
  | { readonly ok: true; readonly consumer: string }
  | { readonly ok: false; readonly reason: 'missing' | 'invalid'; readonly message: string; readonly challenge: string };

/** Longer values are not keys the controller made: refused without hashing. */
const MAX_KEY_LENGTH = 256;

/** The query without the parameter `name` (every occurrence), '' when nothing is left. */
export function withoutParameter(query: string, name: string): string {
  if (query.length < 2) return query;
  const kept = query.slice(1).split('&').filter((pair) => {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    return key !== name && safeDecode(key) !== name;
  });
  return kept.length === 0 ? '' : `?${kept.join('&')}`;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The value of query parameter `name` (the first), or undefined. */
function parameter(query: string, name: string): string | undefined {
  if (query.length < 2) return undefined;
  for (const pair of query.slice(1).split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (key === name || safeDecode(key) === name) return eq === -1 ? '' : safeDecode(pair.slice(eq + 1));
  }
  return undefined;
}

/**
 * An API's `apiKey` policy: a key (header or query parameter) is hashed and looked up
 * among the digests of the org's consumers; only digests are held, so a runtime's memory
 * or config cache gives no key away. A key never reaches a log: refusals do not name it.
 */
export class ApiKeyAuth {
  readonly policy: ApiKeyPolicy;
  private readonly consumers: ReadonlyMap<string, string>;
  private readonly challenge: string;

  constructor(policy: ApiKeyPolicy, consumers: readonly ConsumerKeys[]) {
    this.policy = policy;
    const byDigest = new Map<string, string>();
    for (const consumer of consumers) for (const digest of consumer.keyDigests) byDigest.set(Buffer.from(digest).toString('base64'), consumer.name);
    this.consumers = byDigest;
    this.challenge = `ApiKey ${policy.in}="${policy.name}"`;
  }

  /** The key of a request, from its header or (raw) query. */
  keyOf(header: string | string[] | undefined, query: string): string | undefined {
    if (this.policy.in === 'query') return parameter(query, this.policy.name);
    return Array.isArray(header) ? header[0] : header;
  }

  check(key: string | undefined): KeyResult {
    if (key === undefined || key === '') return { ok: false, reason: 'missing', message: `an API key is required (${this.policy.in} ${this.policy.name})`, challenge: this.challenge };
    const consumer = key.length > MAX_KEY_LENGTH ? undefined : this.consumers.get(createHash('sha256').update(key).digest('base64'));
    if (consumer === undefined) return { ok: false, reason: 'invalid', message: 'the API key is not valid', challenge: `${this.challenge}, error="invalid_key"` };
    return { ok: true, consumer };
  }
}
