import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { schemaByKind, type Logger, type ResourceKind } from '@causeway/shared';
import type { ResourceEntry, ResourceMaps, Resources } from '../resources/resources.ts';

/** One cache directory per runtime: the file name is fixed. */
export const cacheFileName = 'runtime-config.json';
const format = 'causeway.runtime.cache/v1';

interface CachedEntry {
  readonly name: string;
  readonly version: string;
  readonly message: JsonValue;
}

interface CacheFile {
  readonly format: string;
  readonly revision: string;
  readonly savedAt: string;
  readonly resources: Readonly<Record<ResourceKind, readonly CachedEntry[]>>;
}

/**
 * The JSON of each entry, kept as long as the entry is held: entries are immutable and
 * an update replaces only those it changes, so a write serializes only what changed
 * since the last one.
 */
const entryJsonCache = new WeakMap<object, { readonly name: string; readonly json: string }>();

function entryJson<K extends ResourceKind>(kind: K, name: string, entry: ResourceEntry<K>): string {
  const cached = entryJsonCache.get(entry);
  if (cached?.name === name) return cached.json;
  const json = JSON.stringify({ name, version: entry.version, message: toJson(schemaByKind[kind], entry.message) } satisfies CachedEntry);
  entryJsonCache.set(entry, { name, json });
  return json;
}

/** The cache file's text (a CacheFile), built from per-entry JSON. */
function serializeResources(resources: Resources, savedAt: Date): string {
  const maps: ResourceMaps = resources;
  const entries = <K extends ResourceKind>(kind: K): string => {
    const parts: string[] = [];
    for (const [name, entry] of maps[kind]) parts.push(entryJson(kind, name, entry));
    return `[${parts.join(',')}]`;
  };
  const head = { format, revision: resources.revision.toString(), savedAt: savedAt.toISOString() } satisfies Omit<CacheFile, 'resources'>;
  const byKind = `{"cluster":${entries('cluster')},"zone":${entries('zone')},"api":${entries('api')}}`;
  return `${JSON.stringify(head).slice(0, -1)},"resources":${byKind}}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseEntries<K extends ResourceKind>(kind: K, raw: unknown): Map<string, ResourceEntry<K>> {
  if (!Array.isArray(raw)) throw new Error(`resources.${kind} is not a list`);
  const entries = new Map<string, ResourceEntry<K>>();
  raw.forEach((item: unknown, index) => {
    if (!isRecord(item) || typeof item.name !== 'string' || typeof item.version !== 'string' || item.name === '') {
      throw new Error(`resources.${kind}[${index}] lacks a name or version`);
    }
    if (entries.has(item.name)) throw new Error(`resources.${kind}: "${item.name}" appears twice`);
    const message = fromJson(schemaByKind[kind], (item.message ?? null) as JsonValue);
    entries.set(item.name, { version: item.version, message });
  });
  return entries;
}

/** Parses a cache file; throws with the reason when it is not one. */
function parseResources(text: string): Resources {
  const raw: unknown = JSON.parse(text);
  if (!isRecord(raw) || raw.format !== format) throw new Error(`not a ${format} file`);
  if (typeof raw.revision !== 'string' || !/^\d{1,20}$/.test(raw.revision)) throw new Error('revision is not a number');
  const byKind = raw.resources;
  if (!isRecord(byKind)) throw new Error('resources is missing');
  return {
    revision: BigInt(raw.revision),
    cluster: parseEntries('cluster', byKind.cluster),
    zone: parseEntries('zone', byKind.zone),
    api: parseEntries('api', byKind.api),
  };
}

/** Writes follow each other at least this far apart by default (a burst of changes is one write). */
const defaultCacheWriteIntervalMs = 1_000;

/**
 * The last applied config on disk. Writes are atomic (temporary file, fsync, rename)
 * and serialized, at most one per `minIntervalMs`; only the newest queued resources are
 * written. The file can thus be up to that interval behind the config in force, which
 * the controller makes up for when the runtime reconnects (it sends the difference).
 */
export class ConfigCache {
  readonly file: string;
  private readonly dir: string;
  private readonly log: Pick<Logger, 'warn'>;
  private readonly minIntervalMs: number;
  private pending: Resources | undefined;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastWriteAt = Number.NEGATIVE_INFINITY;

  constructor(dir: string, log: Pick<Logger, 'warn'>, minIntervalMs = defaultCacheWriteIntervalMs) {
    this.dir = dir;
    this.file = join(dir, cacheFileName);
    this.log = log;
    this.minIntervalMs = minIntervalMs;
  }

  /** The cached resources, or undefined when there are none or they are unreadable (logged). */
  async load(): Promise<Resources | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.log.warn({ err: error, file: this.file }, 'cannot read the config cache; ignoring it');
      return undefined;
    }
    try {
      return parseResources(text);
    } catch (error) {
      this.log.warn({ err: error, file: this.file }, 'the config cache is corrupt; ignoring it');
      return undefined;
    }
  }

  save(resources: Resources): void {
    this.pending = resources;
    this.schedule();
  }

  /** Writes what is queued now, without waiting for the interval; resolves once it is on disk (or failed and was logged). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing !== undefined || this.pending !== undefined) {
      this.writing ??= this.drain();
      await this.writing;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.writing !== undefined || this.timer !== undefined || this.pending === undefined) return;
    const wait = this.lastWriteAt + this.minIntervalMs - Date.now();
    if (wait <= 0) {
      this.writing = this.drain();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, wait);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    const resources = this.pending;
    this.pending = undefined;
    try {
      if (resources !== undefined) await this.write(resources);
    } finally {
      this.lastWriteAt = Date.now();
      this.writing = undefined;
      this.schedule();
    }
  }

  private async write(resources: Resources): Promise<void> {
    const temporary = `${this.file}.${process.pid}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      const handle = await open(temporary, 'w', 0o600);
      try {
        await handle.writeFile(serializeResources(resources, new Date()), 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.file);
    } catch (error) {
      this.log.warn({ err: error, file: this.file, revision: resources.revision.toString() }, 'cannot write the config cache');
      await rm(temporary, { force: true }).catch(() => undefined);
    }
  }
}
