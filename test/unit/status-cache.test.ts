// The status cache: hits within the TTL, misses after it, and a load that raced an invalidation
// never stores its (possibly old) body.
import { describe, expect, it } from 'vitest';
import { StatusCache } from '../../src/http/index.js';

describe('StatusCache', () => {
  it('answers from memory within the TTL, loads again after it, and never caches a miss', async () => {
    const cache = new StatusCache(60);
    let loads = 0;
    const load = async () => `body ${++loads}`;
    expect(await cache.read('t', 'p', load)).toBe('body 1');
    expect(await cache.read('t', 'p', load)).toBe('body 1');
    await new Promise((r) => setTimeout(r, 80));
    expect(await cache.read('t', 'p', load)).toBe('body 2');
    expect(await cache.read('t', 'absent', async () => null)).toBeNull();
    expect(await cache.read('t', 'absent', async () => 'now here')).toBe('now here');
  });

  it('drops a project on invalidation, and keeps tenants apart', async () => {
    const cache = new StatusCache(10_000);
    await cache.read('a', 'p', async () => 'a-old');
    await cache.read('b', 'p', async () => 'b-old');
    cache.invalidate('a', 'p');
    expect(await cache.read('a', 'p', async () => 'a-new')).toBe('a-new');
    expect(await cache.read('b', 'p', async () => 'b-new')).toBe('b-old');
  });

  it('does not store a body loaded before an invalidation that happened during the load', async () => {
    const cache = new StatusCache(10_000);
    let release!: () => void;
    const slow = cache.read('t', 'p', () => new Promise<string>((r) => (release = () => r('before the change'))));
    cache.invalidate('t', 'p');
    release();
    expect(await slow).toBe('before the change');
    expect(await cache.read('t', 'p', async () => 'after the change')).toBe('after the change');
  });

  it('does not store a raced body after the project was already invalidated before (second invalidation on)', async () => {
    const cache = new StatusCache(10_000);
    // An earlier transition: the project has been invalidated once before this read starts.
    cache.invalidate('t', 'p');
    for (let round = 0; round < 3; round++) {
      let release!: () => void;
      const slow = cache.read('t', 'p', () => new Promise<string>((r) => (release = () => r(`before change ${round}`))));
      cache.invalidate('t', 'p');
      release();
      expect(await slow).toBe(`before change ${round}`);
      expect(await cache.read('t', 'p', async () => `after change ${round}`)).toBe(`after change ${round}`);
      cache.invalidate('t', 'p');
    }
  });

  it('does not store a body whose load straddled two invalidations', async () => {
    const cache = new StatusCache(10_000);
    let release!: () => void;
    const slow = cache.read('t', 'p', () => new Promise<string>((r) => (release = () => r('two changes ago'))));
    cache.invalidate('t', 'p');
    cache.invalidate('t', 'p');
    release();
    expect(await slow).toBe('two changes ago');
    expect(await cache.read('t', 'p', async () => 'current')).toBe('current');
  });

  it('does not store a raced body even when many other projects changed during the load', async () => {
    // A per-project counter capped at maxEntries would forget this project's count here and
    // restart it at the value the read captured.
    const cache = new StatusCache(10_000, 2);
    cache.invalidate('t', 'p');
    let release!: () => void;
    const slow = cache.read('t', 'p', () => new Promise<string>((r) => (release = () => r('stale'))));
    for (const other of ['q', 'r', 's']) cache.invalidate('t', other);
    cache.invalidate('t', 'p');
    release();
    expect(await slow).toBe('stale');
    expect(await cache.read('t', 'p', async () => 'fresh')).toBe('fresh');
  });

  it('a failed load leaves nothing behind: the next read loads and caches', async () => {
    const cache = new StatusCache(10_000);
    await expect(cache.read('t', 'p', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await cache.read('t', 'p', async () => 'loaded')).toBe('loaded');
    expect(await cache.read('t', 'p', async () => 'not asked')).toBe('loaded');
  });

  it('with a TTL of 0 always loads', async () => {
    const cache = new StatusCache(0);
    let loads = 0;
    await cache.read('t', 'p', async () => `${++loads}`);
    await cache.read('t', 'p', async () => `${++loads}`);
    expect(loads).toBe(2);
  });
});
