import { createLocalJWKSet, errors, type JWTVerifyGetKey } from 'jose';
import { jwtAlgorithms } from '@causeway/shared';
import type { JwksFetchResult } from './policy-metrics.ts';

/** How a runtime fetches and keeps an issuer's JSON Web Key Set. */
export interface KeyFetchSettings {
  /** Least time between two fetches caused by an unknown `kid` (or by no keys at all). */
  readonly cooldownMs: number;
  /** Keys older than this are fetched again in the background (the old ones serve meanwhile). */
  readonly maxAgeMs: number;
  readonly timeoutMs: number;
  /** A larger key set is refused. */
  readonly maxBytes: number;
}

const defaultKeyFetch: KeyFetchSettings = { cooldownMs: 10_000, maxAgeMs: 600_000, timeoutMs: 3_000, maxBytes: 256 * 1024 };

/** Key sets the runtime keeps (by URL); the least recently used goes first. */
const MAX_KEY_SETS = 1_024;

/** No key set was ever fetched from the issuer's JWKS URL (it is down or answers nonsense). */
class KeysUnavailable extends errors.JOSEError {
  override code = 'ERR_CAUSEWAY_KEYS_UNAVAILABLE';
}

/** A fetch that got an answer the runtime does not take, with its outcome for the metrics. */
class FetchRefused extends errors.JOSEError {
  readonly result: JwksFetchResult;

  constructor(result: JwksFetchResult, message: string) {
    super(message);
    this.result = result;
  }
}

/** The outcome of a failed fetch: refused (status, size, content) or the endpoint not reached in time. */
function failureOf(error: unknown): JwksFetchResult {
  if (error instanceof FetchRefused) return error.result;
  return error instanceof SyntaxError ? 'invalid' : 'unreachable';
}

/** Told how each fetch of a key set ended. */
export type FetchObserver = (result: JwksFetchResult) => void;

/** A key the rules accept for verifying tokens: signing keys of the accepted algorithms only. */
function usable(key: unknown): boolean {
  if (typeof key !== 'object' || key === null) return false;
  const { kty, use, alg, d, k } = key as Record<string, unknown>;
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') return false;
  if (d !== undefined || k !== undefined || (use !== undefined && use !== 'sig')) return false;
  return alg === undefined || (jwtAlgorithms as readonly unknown[]).includes(alg);
}

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new FetchRefused('too_large', `the key set is larger than ${maxBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += (chunk as Uint8Array).length;
    if (size > maxBytes) throw new FetchRefused('too_large', `the key set is larger than ${maxBytes} bytes`);
    chunks.push(chunk as Uint8Array);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One issuer's keys fetched from its JWKS URL (never from a URL a token names). Unlike
 * jose's remote key set, a fetch that fails never throws away keys already held (stale
 * keys keep verifying while the issuer's endpoint is down), and failed fetches are rate
 * limited like successful ones: an unknown `kid` fetches at most once per cooldown.
 */
export class RemoteKeys {
  private keys: ReturnType<typeof createLocalJWKSet> | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;
  readonly url: string;
  private readonly settings: KeyFetchSettings;
  private readonly now: () => number;
  private readonly observe: FetchObserver;

  constructor(url: string, settings: KeyFetchSettings, observe: FetchObserver = ignore, now: () => number = Date.now) {
    this.url = url;
    this.settings = settings;
    this.observe = observe;
    this.now = now;
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (this.keys === undefined) {
      await this.refreshIfDue();
      if (this.keys === undefined) throw new KeysUnavailable(`the keys of the issuer cannot be fetched from ${this.url}`);
    } else if (this.now() - this.fetchedAt >= this.settings.maxAgeMs && this.now() - this.attemptedAt >= this.settings.cooldownMs) {
      void this.refresh().catch(ignore);
    }
    const held = this.keys;
    try {
      return await held(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      await this.refreshIfDue();
      if (this.keys === held || this.keys === undefined) throw error;
      return await this.keys(header, token);
    }
  };

  /** Waits for the fetch under way, or makes one if the cooldown since the last attempt is over. */
  private async refreshIfDue(): Promise<void> {
    if (this.pending === undefined && this.now() - this.attemptedAt < this.settings.cooldownMs) return;
    await this.refresh().catch(ignore);
  }

  /** Fetches the key set now (one fetch at a time); the keys held stay if it fails. */
  refresh(): Promise<void> {
    this.pending ??= this.fetch()
      .then(
        () => this.observe('ok'),
        (error: unknown) => {
          this.observe(failureOf(error));
          throw error;
        },
      )
      .finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async fetch(): Promise<void> {
    this.attemptedAt = this.now();
    const response = await fetch(this.url, {
      redirect: 'error',
      signal: AbortSignal.timeout(this.settings.timeoutMs),
      headers: { accept: 'application/jwk-set+json, application/json' },
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new FetchRefused('status', `the key set URL answered ${response.status}`);
    }
    const set = JSON.parse(await readLimited(response, this.settings.maxBytes)) as { keys?: unknown };
    if (!Array.isArray(set.keys)) throw new FetchRefused('invalid', 'the key set has no "keys" list');
    this.keys = createLocalJWKSet({ keys: set.keys.filter(usable) as never[] });
    this.fetchedAt = this.now();
  }
}

function ignore(): void {}

/**
 * The runtime's remote key sets, by URL, kept across config changes: an API re-applied,
 * or another API trusting the same issuer, does not fetch the keys again.
 */
export class KeySets {
  private readonly sets = new Map<string, RemoteKeys>();
  private readonly settings: KeyFetchSettings;
  private readonly observe: FetchObserver;

  constructor(settings: KeyFetchSettings = defaultKeyFetch, observe: FetchObserver = ignore) {
    this.settings = settings;
    this.observe = observe;
  }

  /** The key set of a URL; a new one starts fetching in the background. */
  get(url: string): RemoteKeys {
    let keys = this.sets.get(url);
    if (keys !== undefined) {
      this.sets.delete(url);
    } else {
      keys = new RemoteKeys(url, this.settings, this.observe);
      void keys.refresh().catch(ignore);
    }
    this.sets.set(url, keys);
    if (this.sets.size > MAX_KEY_SETS) this.sets.delete(this.sets.keys().next().value as string);
    return keys;
  }
}
