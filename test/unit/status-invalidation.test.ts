// The status cache's one invalidation path from other processes: execution-update frames of the
// frame log drop that project's body; other frames and other projects keep theirs; close stops it.
import { describe, expect, it } from 'vitest';
import { invalidateStatusOnFrames, StatusCache } from '../../src/http/index.js';
import { MemoryFrameLog } from '../../src/infra/frames/index.js';

describe('invalidateStatusOnFrames', () => {
  const key = { tenant: 't', projectId: 'p' };
  const cached = (cache: StatusCache, tenant = 't', projectId = 'p') => cache.read(tenant, projectId, async () => 'reloaded');

  it('drops the project on its execution-update frames only, until closed', async () => {
    const frames = new MemoryFrameLog();
    const cache = new StatusCache(60_000);
    const invalidation = await invalidateStatusOnFrames(frames, cache);
    await cache.read('t', 'p', async () => 'old');
    await cache.read('t', 'other', async () => 'other old');
    await cache.read('u', 'p', async () => 'tenant u old');

    await frames.append(key, 'execution-log', 'e', { lines: [] });
    expect(await cached(cache)).toBe('old');

    await frames.append(key, 'execution-update', 'e', { executionId: 'e', projection: {} });
    expect(await cached(cache)).toBe('reloaded');
    expect(await cached(cache, 't', 'other')).toBe('other old');
    expect(await cached(cache, 'u', 'p')).toBe('tenant u old');

    await invalidation.close();
    await invalidation.close();
    await frames.append(key, 'execution-update', 'e', { executionId: 'e', projection: {} });
    expect(await cache.read('t', 'p', async () => 'not asked')).toBe('reloaded');
    await frames.close();
  });

  it('drops the body before a later subscriber (the live stream) sees the frame', async () => {
    const frames = new MemoryFrameLog();
    const cache = new StatusCache(60_000);
    const invalidation = await invalidateStatusOnFrames(frames, cache);
    await cache.read('t', 'p', async () => 'old');
    const seenByStream: Array<Promise<string | null>> = [];
    const unsubscribe = await frames.subscribe(() => seenByStream.push(cache.read('t', 'p', async () => 'new')));
    await frames.append(key, 'execution-update', 'e', { executionId: 'e', projection: {} });
    expect(await Promise.all(seenByStream)).toEqual(['new']);
    await unsubscribe();
    await invalidation.close();
    await frames.close();
  });
});
