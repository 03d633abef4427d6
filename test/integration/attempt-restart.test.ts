// An attempt that runs again (after pause/resume, a lost lease, a takeover on the same data
// directory) starts from the same tree as its first run: what the interrupted run left in the
// work tree is never applied a second time.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentRemote } from '../support/agent-remote.js';
import { startEmbeddedRuntime, type EmbeddedRuntime } from '../support/embedded-runtime.js';
import { git } from '../support/git-remote.js';
import { eventually } from '../support/services.js';

/** Appends one line; the first run of the attempt then hangs until it is killed. */
const AGENT = [
  'echo "line of $(date +%s%N)" >> NOTES.md',
  'if [ ! -f .git/devteam/ran-once ]; then touch .git/devteam/ran-once; exec sleep 600; fi',
].join('\n');

describe('attempt restart', () => {
  let service: EmbeddedRuntime;

  beforeAll(async () => {
    service = await startEmbeddedRuntime('devteam-restart');
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  const api = (path: string, init: RequestInit = {}) => fetch(service.url(`/api/devteam/automation${path}`), init);

  it('an implement step interrupted after the agent edited runs again from the clean start: the change lands once', async () => {
    const remote = await createAgentRemote(service.dir, 'once', [{ id: '1.1', title: 'append a line' }]);
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
    const notes = join(service.dir, 'data', 'repos', 'local', 'once', 'repo', 'NOTES.md');
    await eventually(async () => (existsSync(notes) ? true : undefined), 30_000, 'the first run to edit');

    expect((await api('/pause/once', { method: 'POST' })).status).toBe(202);
    expect((await api('/resume/once', { method: 'POST' })).status).toBe(202);
    const final = await service.settled('once');
    expect(final.status).toBe('completed');

    await git(remote.work, 'fetch', '--quiet', 'origin');
    const lines = (await git(remote.work, 'show', 'origin/main:NOTES.md')).split('\n');
    expect(lines).toHaveLength(1);
  }, 120_000);
});
