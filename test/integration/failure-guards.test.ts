// The guards against expensive or dangerous failures of unattended agents, end to end on real git
// remotes with a scripted `command` agent: a build that fails the same way twice is not paid for a
// third attempt, and a change that adds a secret is never merged or pushed — its value appearing in
// no status, frame or artifact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentRemote } from '../support/agent-remote.js';
import { startEmbeddedRuntime, type EmbeddedRuntime } from '../support/embedded-runtime.js';
import { git } from '../support/git-remote.js';
import { recordStream, type WsRecorder } from '../support/ws-recorder.js';

/** The worker's own model key: set before the runtime starts (it reads process.env). */
const MODEL_KEY = 'sk-ant-api03-guardtest-Q3v9Xw2LmP8rT5yN1bK7hJ4dF6gS0aZc';
/** A GitHub token shape secretlint's recommended preset flags (not a real token). */
const GITHUB_TOKEN = ['ghp', 'wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx'].join('_');

describe('failure guards', () => {
  let service: EmbeddedRuntime;
  const saved = process.env.DEVTEAM_SECRET_LOCAL__MODEL_KEY;

  beforeAll(async () => {
    process.env.DEVTEAM_SECRET_LOCAL__MODEL_KEY = MODEL_KEY;
    service = await startEmbeddedRuntime('devteam-guards');
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
    if (saved === undefined) delete process.env.DEVTEAM_SECRET_LOCAL__MODEL_KEY;
    else process.env.DEVTEAM_SECRET_LOCAL__MODEL_KEY = saved;
  }, 60_000);

  const body = (projectId: string, bare: string, agent: string, verify: string[] = ['git', '--version']) => ({
    projectId,
    repository: { url: `file://${bare}` },
    agent: { preset: 'command', command: ['sh', '-c', agent], timeoutSec: 60 },
    verify: { commands: [verify], timeoutSec: 60 },
  });
  const status = async (projectId: string) => (await (await fetch(service.url(`/api/devteam/automation/status/${projectId}`))).json()) as Record<string, any>;
  const artifacts = async (executionId: string) =>
    ((await (await fetch(service.url(`/api/devteam/automation/executions/${executionId}/artifacts?content=1`))).json()) as { artifacts: Array<Record<string, any>> }).artifacts;

  async function run(projectId: string, agent: string, verify?: string[]) {
    const remote = await createAgentRemote(service.dir, projectId, [{ id: '1.1', title: 'do it' }]);
    const before = await git(remote.bare, 'rev-parse', 'refs/heads/main');
    const stream: WsRecorder = recordStream(service.runtime.port!, projectId);
    const reply = await service.initialize(body(projectId, remote.bare, agent, verify));
    expect(reply.status, reply.text).toBe(202);
    const final = await service.settled(projectId);
    const s = await status(projectId);
    const list = await artifacts(reply.body.executionId);
    // The final frame may trail the status read by a moment.
    for (let i = 0; i < 50 && stream.lastStatus() !== final.status; i++) await new Promise((r) => setTimeout(r, 100));
    await stream.close();
    return { remote, before, final: s, frames: stream.frames, artifacts: list };
  }

  it('a build failing with the same error after a change stops after attempt 2: same_error_repeated, each fingerprint stored', async () => {
    // The error names another temp path and time each run; the agent changes an unrelated file.
    const verify = ['sh', '-c', 'd=$(mktemp -d); echo "$d/src/math.ts(4,7): error TS2322: Type string is not assignable to type number. [$(date +%T.%N)]"; rm -r "$d"; exit 2'];
    const { final, frames, artifacts: list } = await run('same-error', 'echo "try $(date +%s%N)" >> NOTES.md', verify);
    expect(final.status).toBe('failed');
    expect(final.results['1.1']).toMatchObject({ status: 'failed', reason: 'same_error_repeated', attempts: 2 });
    expect(final.lastError).toMatch(/same error/);
    const prints = list.filter((a) => a.kind === 'verify-output').map((a) => a.meta.fingerprint);
    expect(prints).toHaveLength(2);
    expect(prints[0]).toMatch(/^[0-9a-f]{16,}$/);
    expect(prints[1]).toBe(prints[0]);
    expect(list.filter((a) => a.kind === 'prompt')).toHaveLength(2);
    expect(frames.some((f) => f.type === 'execution-update' && f.payload.reason === 'same_error_repeated')).toBe(true);
  }, 120_000);

  it('a build whose error changes each attempt still gets all 3 attempts: verify_failed', async () => {
    const verify = ['sh', '-c', 'echo "error: $(wc -l < NOTES.md) tries are not enough"; exit 1'];
    const { final, artifacts: list } = await run('moving-error', 'echo try >> NOTES.md', verify);
    expect(final.results['1.1']).toMatchObject({ status: 'failed', reason: 'verify_failed', attempts: 3 });
    const prints = list.filter((a) => a.kind === 'verify-output').map((a) => a.meta.fingerprint);
    expect(new Set(prints).size).toBe(3);
  }, 120_000);

  it('an agent that writes a token secretlint knows: secret_in_diff naming file and line, the remote untouched, the value nowhere', async () => {
    const agent = `printf 'module.exports = {\\n  name: "demo",\\n  token: "%s",\\n};\\n' '${GITHUB_TOKEN}' > config.js`;
    const { remote, before, final, frames, artifacts: list } = await run('leaky-token', agent);
    expect(final.status).toBe('failed');
    expect(final.results['1.1']).toMatchObject({ status: 'failed', reason: 'secret_in_diff' });
    expect(final.lastError).toMatch(/config\.js:3/);
    expect(await git(remote.bare, 'rev-parse', 'refs/heads/main')).toBe(before);
    // Nor did the attempt leave the worker as an attempt ref (decision 0025).
    expect(await git(remote.bare, 'for-each-ref', 'refs/devteam/')).toBe('');
    expect(frames.some((f) => f.type === 'execution-update' && f.payload.reason === 'secret_in_diff')).toBe(true);
    // The attempt's diff is kept, with the value redacted.
    expect(list.find((a) => a.kind === 'diff')?.content).toMatch(/config\.js[\s\S]*token: "\[REDACTED\]"/);
    for (const [what, text] of [['status', JSON.stringify(final)], ['frames', JSON.stringify(frames)], ['artifacts', JSON.stringify(list)]] as const) {
      expect(text.includes(GITHUB_TOKEN), `${what} holds the token`).toBe(false);
    }
  }, 120_000);

  it("an agent that writes the worker's own model key: secret_in_diff, the value nowhere, and a re-run cannot push it", async () => {
    const agent = `mkdir -p src && printf 'const a = 1;\\nexport const key = "%s";\\n' '${MODEL_KEY}' > src/settings.ts`;
    // The build prints the file: its output goes to the live stream and the verify-output artifact.
    const { remote, before, final, frames, artifacts: list } = await run('leaky-key', agent, ['sh', '-c', 'cat src/settings.ts']);
    expect(frames.some((f) => f.type === 'execution-log' && JSON.stringify(f.payload).includes('export const key'))).toBe(true);
    expect(final.results['1.1']).toMatchObject({ status: 'failed', reason: 'secret_in_diff' });
    expect(final.lastError).toMatch(/src\/settings\.ts:2/);
    expect(await git(remote.bare, 'rev-parse', 'refs/heads/main')).toBe(before);
    expect(final.lastError).toMatch(/worker-secret/);
    expect(list.find((a) => a.kind === 'diff')?.content).toContain('export const key = "[REDACTED]"');
    for (const [what, text] of [['status', JSON.stringify(final)], ['frames', JSON.stringify(frames)], ['artifacts', JSON.stringify(list)]] as const) {
      expect(text.includes(MODEL_KEY), `${what} holds the model key`).toBe(false);
    }
    // Run again with an agent that behaves: only its change reaches the remote.
    const again = await service.initialize(body('leaky-key', remote.bare, 'echo fine >> NOTES.md'));
    expect(again.status, again.text).toBe(202);
    await expect.poll(async () => (await status('leaky-key')).executionId === again.body.executionId && (await status('leaky-key')).status, { timeout: 60_000, interval: 200 }).toBe('completed');
    const log = await git(remote.bare, 'log', '-p', 'refs/heads/main');
    expect(log.includes(MODEL_KEY)).toBe(false);
    expect(log).toMatch(/fine/);
  }, 180_000);
});
