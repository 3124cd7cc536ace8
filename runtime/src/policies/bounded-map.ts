/**
 * A map of at most `maxEntries`, forgetting the least recently used first, in O(1) per
 * step (quick-lru's scheme): entries live in two generations; a key used is kept in
 * `recent`, and when `recent` is full it becomes `older` and the previous `older` is
 * dropped whole. A key found in `older` moves back to `recent`. (One map in recency order
 * would evict by deleting its first entry, which V8 makes slow: each deletion at the front
 * leaves a slot the next eviction walks over.)
 */
export class BoundedMap<V> {
  private recent = new Map<string, V>();
  private older = new Map<string, V>();
  private readonly generationSize: number;

  constructor(maxEntries: number) {
    this.generationSize = Math.max(1, Math.floor(maxEntries / 2));
  }

  get size(): number {
    return this.recent.size + this.older.size;
  }

  get(key: string): V | undefined {
    const held = this.recent.get(key);
    if (held !== undefined) return held;
    const old = this.older.get(key);
    if (old !== undefined) {
      this.older.delete(key);
      this.add(key, old);
    }
    return old;
  }

  set(key: string, value: V): void {
    if (this.recent.has(key)) this.recent.set(key, value);
    else {
      this.older.delete(key);
      this.add(key, value);
    }
  }

  delete(key: string): void {
    this.recent.delete(key);
    this.older.delete(key);
  }

  private add(key: string, value: V): void {
    if (this.recent.size >= this.generationSize) {
      this.older = this.recent;
      this.recent = new Map();
    }
    this.recent.set(key, value);
  }
}
