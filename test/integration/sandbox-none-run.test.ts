// One task end to end with DEVTEAM_SANDBOX=none (the host runner): the agent reads its prompt at
// the path it is given and edits the checkout, verify runs, the change is merged.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { createAgentRemote } from '../support/agent-remote.js';
import { eventually, tempDir } from '../support/services.js';

/** Fails unless the prompt file it is given exists: its path must be valid on the host. */
const AGENT = 'test -s "$1" || { echo "no prompt at $1" >&2; exit 1; }; echo "done by the host runner" >> NOTES.md';

describe('DEVTEAM_SANDBOX=none', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;

  beforeAll(async () => {
    dir = await tempDir('devteam-none');
    const env = { PORT: '0', DEVTEAM_SANDBOX: 'none', DEVTEAM_DATA_DIR: join(dir.path, 'data'), DEVTEAM_RECONCILE_MS: '200', DEVTEAM_FILE_REMOTE_ROOTS: dir.path, LOG_LEVEL: 'silent' };
    runtime = await startRuntime(loadConfig(env), { api: true, worker: true }, createLogger({ level: 'silent' }));
  }, 60_000);

  afterAll(async () => {
    await runtime?.stop();
    await dir?.remove();
  }, 60_000);

  const api = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${runtime.port}/api/devteam/automation${path}`, init);

  it('runs a task on the host: the agent finds its prompt file and the change completes', async () => {
    const remote = await createAgentRemote(dir.path, 'hosted', [{ id: '1.1', title: 'append a line' }]);
    const res = await api('/initialize', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        projectId: 'hosted',
        repository: { url: `file://${remote.bare}` },
        agent: { preset: 'command', command: ['sh', '-c', AGENT, 'agent', '{promptFile}'], timeoutSec: 60 },
        verify: { commands: [['git', '--version']], timeoutSec: 60 },
      }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const final = await eventually(async () => {
      const s = (await (await api('/status/hosted')).json()) as { status: string; lastError?: unknown };
      return ['completed', 'failed'].includes(s.status) ? s : undefined;
    }, 60_000, 'the run to end');
    expect(final, JSON.stringify(final)).toMatchObject({ status: 'completed' });
  }, 90_000);
});
