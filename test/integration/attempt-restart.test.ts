// An attempt that runs again (after pause/resume, a lost lease, a takeover on the same data
// directory) starts from the same tree as its first run: what the interrupted run left in the
// work tree is never applied a second time.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { createAgentRemote } from '../support/agent-remote.js';
import { git } from '../support/git-remote.js';
import { eventually, tempDir } from '../support/services.js';

/** Appends one line; the first run of the attempt then hangs until it is killed. */
const AGENT = [
  'echo "line of $(date +%s%N)" >> NOTES.md',
  'if [ ! -f .git/devteam/ran-once ]; then touch .git/devteam/ran-once; exec sleep 600; fi',
].join('\n');

describe('attempt restart', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;

  beforeAll(async () => {
    dir = await tempDir('devteam-restart');
    runtime = await startRuntime(
      loadConfig({ PORT: '0', DEVTEAM_DATA_DIR: join(dir.path, 'data'), DEVTEAM_RECONCILE_MS: '200', DEVTEAM_FILE_REMOTE_ROOTS: dir.path, LOG_LEVEL: 'silent' }),
      { api: true, worker: true },
      createLogger({ level: 'silent' }),
    );
  }, 60_000);

  afterAll(async () => {
    await runtime?.stop();
    await dir?.remove();
  }, 60_000);

  const api = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${runtime.port}/api/devteam/automation${path}`, init);

  it('an implement step interrupted after the agent edited runs again from the clean start: the change lands once', async () => {
    const remote = await createAgentRemote(dir.path, 'once', [{ id: '1.1', title: 'append a line' }]);
    const res = await api('/initialize', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        projectId: 'once',
        repository: { url: `file://${remote.bare}` },
        agent: { preset: 'command', command: ['sh', '-c', AGENT], timeoutSec: 120 },
        verify: { commands: [['git', '--version']], timeoutSec: 60 },
      }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const notes = join(dir.path, 'data', 'repos', 'local', 'once', 'repo', 'NOTES.md');
    await eventually(async () => (existsSync(notes) ? true : undefined), 30_000, 'the first run to edit');

    expect((await api('/pause/once', { method: 'POST' })).status).toBe(202);
    expect((await api('/resume/once', { method: 'POST' })).status).toBe(202);
    const final = await eventually(async () => {
      const s = (await (await api('/status/once')).json()) as { status: string };
      return ['completed', 'failed'].includes(s.status) ? s : undefined;
    }, 60_000, 'the run to end');
    expect(final.status).toBe('completed');

    await git(remote.work, 'fetch', '--quiet', 'origin');
    const lines = (await git(remote.work, 'show', 'origin/main:NOTES.md')).split('\n');
    expect(lines).toHaveLength(1);
  }, 120_000);
});
