// DEVTEAM_LIMIT_CPUS / DEVTEAM_LIMIT_MEMORY_MB are the operator's defaults for a project that sets
// no limits of its own; a project's own `limits` win. Read off the local sandbox's real cgroup.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxName } from '../../src/infra/sandbox/index.js';
import { createAgentRemote } from '../support/agent-remote.js';
import { startEmbeddedRuntime, type EmbeddedRuntime } from '../support/embedded-runtime.js';
import { eventually } from '../support/services.js';

const MEMORY = '/sys/fs/cgroup/memory';

describe('sandbox limits', () => {
  let service: EmbeddedRuntime;

  beforeAll(async () => {
    service = await startEmbeddedRuntime('devteam-limits', { DEVTEAM_LIMIT_MEMORY_MB: '300' });
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  const limitOf = async (projectId: string) => {
    const file = join(MEMORY, 'devteam', sandboxName('devteam', 'local', projectId), 'memory.limit_in_bytes');
    return eventually(async () => Number(await readFile(file, 'utf8')) || undefined, 30_000, `the cgroup of ${projectId}`);
  };

  it("applies the operator's default to a project without limits, and a project's own limit over it", async () => {
    for (const [projectId, limits, expected] of [
      ['operator-default', undefined, 300],
      ['own-limit', { memoryMb: 200 }, 200],
    ] as const) {
      const remote = await createAgentRemote(service.dir, projectId, [{ id: '1.1', title: 'wait' }]);
      const reply = await service.initialize({
        projectId,
        repository: { url: `file://${remote.bare}` },
        agent: { preset: 'command', command: ['sh', '-c', 'sleep 3; echo x >> NOTES.md'], timeoutSec: 60 },
        verify: { commands: [['git', '--version']], timeoutSec: 60 },
        ...(limits ? { limits } : {}),
      });
      expect(reply.status, reply.text).toBe(202);
      expect(await limitOf(projectId)).toBe(expected * 1024 * 1024);
      expect((await service.settled(projectId)).status).toBe('completed');
    }
  }, 90_000);
});
