/**
 * The promise kept under `key` in `cache`, made by `make` when missing: at most `max` entries (the
 * whole cache is cleared when full), and a promise that rejects is forgotten, so the next call tries
 * again. For what an isolate or a process asks for again and again: imported keys, derived secrets,
 * signing certificates.
 *
 * @example const key = remembered(importedKeys, signingKey, 8, () => crypto.subtle.importKey(…));
 */
export function remembered<T>(cache: Map<string, Promise<T>>, key: string, max: number, make: () => Promise<T>): Promise<T> {
  let found = cache.get(key);
  if (!found) {
    found = make();
    if (cache.size >= max) cache.clear();
    cache.set(key, found);
    found.catch(() => cache.delete(key));
  }
  return found;
}
