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

  it('with a TTL of 0 always loads', async () => {
    const cache = new StatusCache(0);
    let loads = 0;
    await cache.read('t', 'p', async () => `${++loads}`);
    await cache.read('t', 'p', async () => `${++loads}`);
    expect(loads).toBe(2);
  });
});
