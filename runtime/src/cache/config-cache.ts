import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { schemaByKind, type Logger, type ResourceKind } from '@causeway/shared';
import type { ResourceEntry, ResourceMaps, ResourceState } from '../state/resource-state.ts';

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

export function serializeState(state: ResourceState, savedAt: Date): string {
  const entries = <K extends ResourceKind>(kind: K): CachedEntry[] =>
    [...state.resources[kind]].map(([name, entry]) => ({
      name,
      version: entry.version,
      message: toJson(schemaByKind[kind], entry.message),
    }));
  const file: CacheFile = {
    format,
    revision: state.revision.toString(),
    savedAt: savedAt.toISOString(),
    resources: { cluster: entries('cluster'), zone: entries('zone'), api: entries('api') },
  };
  return JSON.stringify(file);
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
export function parseState(text: string): ResourceState {
  const raw: unknown = JSON.parse(text);
  if (!isRecord(raw) || raw.format !== format) throw new Error(`not a ${format} file`);
  if (typeof raw.revision !== 'string' || !/^\d{1,20}$/.test(raw.revision)) throw new Error('revision is not a number');
  const resources = raw.resources;
  if (!isRecord(resources)) throw new Error('resources is missing');
  const maps: ResourceMaps = {
    cluster: parseEntries('cluster', resources.cluster),
    zone: parseEntries('zone', resources.zone),
    api: parseEntries('api', resources.api),
  };
  return { revision: BigInt(raw.revision), resources: maps };
}

/**
 * The last applied config on disk. Writes are atomic (temporary file, fsync, rename)
 * and serialized; when several are queued only the newest is written.
 */
export class ConfigCache {
  readonly file: string;
  private readonly dir: string;
  private readonly log: Pick<Logger, 'warn'>;
  private pending: ResourceState | undefined;
  private writing: Promise<void> | undefined;

  constructor(dir: string, log: Pick<Logger, 'warn'>) {
    this.dir = dir;
    this.file = join(dir, cacheFileName);
    this.log = log;
  }

  /** The cached state, or undefined when there is none or it is unreadable (logged). */
  async load(): Promise<ResourceState | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.log.warn({ err: error, file: this.file }, 'cannot read the config cache; ignoring it');
      return undefined;
    }
    try {
      return parseState(text);
    } catch (error) {
      this.log.warn({ err: error, file: this.file }, 'the config cache is corrupt; ignoring it');
      return undefined;
    }
  }

  save(state: ResourceState): void {
    this.pending = state;
    this.writing ??= this.drain();
  }

  /** Resolves once every queued write is on disk (or failed and was logged). */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      for (let state = this.pending; state !== undefined; state = this.pending) {
        this.pending = undefined;
        await this.write(state);
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async write(state: ResourceState): Promise<void> {
    const temporary = `${this.file}.${process.pid}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      const handle = await open(temporary, 'w', 0o600);
      try {
        await handle.writeFile(serializeState(state, new Date()), 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.file);
    } catch (error) {
      this.log.warn({ err: error, file: this.file, revision: state.revision.toString() }, 'cannot write the config cache');
      await rm(temporary, { force: true }).catch(() => undefined);
    }
  }
}
