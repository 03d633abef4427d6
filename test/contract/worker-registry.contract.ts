// The WorkerRegistry contract: every implementation (in-process, Redis) must pass these unchanged.
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerCapabilities, WorkerRegistry } from '../../src/infra/workers/index.js';
import { eventually } from '../support/services.js';

export interface WorkerRegistryFixture {
  registry: WorkerRegistry;
  cleanup(): Promise<void>;
}

const worker = (workerId: string, over: Partial<WorkerCapabilities> = {}): WorkerCapabilities => ({
  workerId,
  host: 'host-a',
  driver: 'local',
  sandbox: { available: true, problem: null, remedy: null },
  agents: { claude: '/opt/agents/bin/claude', codex: null },
  keys: ['ANTHROPIC_API_KEY'],
  ...over,
});

export function workerRegistryContract(implementation: string, make: () => Promise<WorkerRegistryFixture>): void {
  describe(`WorkerRegistry contract: ${implementation}`, () => {
    const fixtures: WorkerRegistryFixture[] = [];
    const setup = async () => {
      const f = await make();
      fixtures.push(f);
      return f.registry;
    };
    afterEach(async () => {
      await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
    });

    it('lists what live workers announced, exactly as announced, and nothing before', async () => {
      const registry = await setup();
      expect(await registry.live()).toEqual([]);
      await registry.announce(worker('w1'), 10_000);
      await registry.announce(worker('w2', { driver: 'docker', sandbox: { available: false, problem: 'no engine', remedy: 'start it' } }), 10_000);
      const live = (await registry.live()).sort((a, b) => a.workerId.localeCompare(b.workerId));
      expect(live).toEqual([worker('w1'), worker('w2', { driver: 'docker', sandbox: { available: false, problem: 'no engine', remedy: 'start it' } })]);
    });

    it('replaces a worker\'s record when it announces again', async () => {
      const registry = await setup();
      await registry.announce(worker('w1'), 10_000);
      await registry.announce(worker('w1', { agents: { claude: null } }), 10_000);
      expect(await registry.live()).toEqual([worker('w1', { agents: { claude: null } })]);
    });

    it('forgets a worker whose heartbeat stopped, and one that withdrew at once', async () => {
      const registry = await setup();
      await registry.announce(worker('quiet'), 150);
      await registry.announce(worker('leaving'), 10_000);
      await registry.announce(worker('staying'), 10_000);
      await registry.withdraw('leaving');
      expect((await registry.live()).map((w) => w.workerId).sort()).toEqual(['quiet', 'staying']);
      await eventually(async () => ((await registry.live()).length === 1 ? true : undefined), 5_000, 'the quiet worker to expire');
      expect((await registry.live()).map((w) => w.workerId)).toEqual(['staying']);
    });

    it('refuses a ttl that is not a positive whole number of ms', async () => {
      const registry = await setup();
      await expect(registry.announce(worker('w1'), 0)).rejects.toThrow(RangeError);
      await expect(registry.announce(worker('w1'), 1.5)).rejects.toThrow(RangeError);
    });
  });
}
