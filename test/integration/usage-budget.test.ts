// Usage, budgets and the stall watchdog end to end (decision 0026), on real git remotes with the
// scripted `command` agent: its usage line is recorded per attempt and summed in the status, the
// frames, /metrics and `devteam watch`; a budget crossed while the agent streams kills its process
// group at once (budget_exceeded, nothing merged, the partial work kept); a silent build is stopped
// as stalled.
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFrame } from '../../src/client/index.js';
import { createAgentRemote } from '../support/agent-remote.js';
import { startEmbeddedRuntime, type EmbeddedRuntime } from '../support/embedded-runtime.js';
import { git } from '../support/git-remote.js';
import { recordStream } from '../support/ws-recorder.js';

/** Whether a live process's command line holds `marker`. */
async function processWith(marker: string): Promise<boolean> {
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) return true;
  }
  return false;
}

describe('usage, budgets and stalls', () => {
  let service: EmbeddedRuntime;

  beforeAll(async () => {
    service = await startEmbeddedRuntime('devteam-usage');
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  const status = async (projectId: string) => (await (await fetch(service.url(`/api/devteam/automation/status/${projectId}`))).json()) as Record<string, any>;
  const artifacts = async (executionId: string) =>
    ((await (await fetch(service.url(`/api/devteam/automation/executions/${executionId}/artifacts?content=1`))).json()) as { artifacts: Array<Record<string, any>> }).artifacts;

  async function run(projectId: string, extra: Record<string, unknown>, agent: string, verify: string[] = ['git', '--version']) {
    const remote = await createAgentRemote(service.dir, projectId, [{ id: '1.1', title: 'do it' }]);
    const before = await git(remote.bare, 'rev-parse', 'refs/heads/main');
    const stream = recordStream(service.runtime.port!, projectId);
    const { agent: agentExtra, verify: verifyExtra, ...rest } = extra as { agent?: object; verify?: object };
    const t0 = Date.now();
    const reply = await service.initialize({
      projectId,
      repository: { url: `file://${remote.bare}` },
      agent: { preset: 'command', command: ['sh', '-c', agent], timeoutSec: 120, ...agentExtra },
      verify: { commands: [verify], timeoutSec: 120, ...verifyExtra },
      ...rest,
    });
    expect(reply.status, reply.text).toBe(202);
    const final = await service.settled(projectId, 120_000);
    const elapsedMs = Date.now() - t0;
    for (let i = 0; i < 50 && stream.lastStatus() !== final.status; i++) await new Promise((r) => setTimeout(r, 100));
    await stream.close();
    return { remote, before, final: await status(projectId), frames: stream.frames, artifacts: await artifacts(reply.body.executionId), elapsedMs };
  }

  it("a command agent's usage line is recorded per attempt and summed in the status, the frames, /metrics and watch", async () => {
    const line = JSON.stringify({ usage: { inputTokens: 1200, outputTokens: 340, costUsd: 0.0123 } });
    const { final, frames, artifacts: list } = await run('usage-line', {}, `echo change >> NOTES.md; echo 'not json {"usage"'; echo '${line}'`);
    expect(final.status, final.lastError).toBe('completed');
    const want = { inputTokens: 1200, outputTokens: 340, costUsd: 0.0123 };
    expect(final.usage).toEqual(want);
    expect(final.results['1.1'].usage).toEqual(want);
    const usage = list.filter((a) => a.kind === 'usage');
    expect(usage).toHaveLength(1);
    expect(JSON.parse(usage[0]!.content)).toEqual({ run: want, attempt: want });
    const last = frames.filter((f) => f.type === 'execution-update').at(-1)!;
    expect(last.payload.usage).toEqual(want);
    expect(formatFrame(last as never)).toContain('1.2k in / 340 out tokens, $0.0123');
    const metrics = await (await fetch(service.url('/metrics'))).text();
    expect(Number(/devteam_agent_tokens_total\{kind="input"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1200);
    expect(Number(/devteam_agent_tokens_total\{kind="output"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(340);
    expect(Number(/^devteam_agent_cost_usd_total (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(0.0123);
    // No project id in the labels.
    expect(metrics).not.toMatch(/devteam_agent_[a-z_]+\{[^}]*usage-line/);
  }, 120_000);

  it('an agent that reports no usage has null usage, never 0', async () => {
    const { final } = await run('usage-none', {}, 'echo change >> NOTES.md');
    expect(final.status, final.lastError).toBe('completed');
    expect(final.usage).toEqual({ inputTokens: null, outputTokens: null, costUsd: null });
    expect(final.results['1.1'].usage).toEqual({ inputTokens: null, outputTokens: null, costUsd: null });
  }, 120_000);

  it('crossing agent.maxCostUsdPerTask while the agent streams kills its process group: budget_exceeded, partial work kept, nothing merged', async () => {
    const marker = `budget-marker-${process.pid}-${Date.now()}`;
    // Reports a growing cost every 0.1 s and never ends by itself; a child in the background too.
    const agent = `sleep 300 & i=0; while true; do i=$((i+1)); echo "$i" > progress.txt; echo "{\\"usage\\":{\\"costUsd\\":$i}}"; sleep 0.1; done # ${marker}`;
    const { remote, before, final, frames, artifacts: list, elapsedMs } = await run('cost-budget', { agent: { maxCostUsdPerTask: 3 } }, agent);
    expect(final.status).toBe('failed');
    expect(final.results['1.1']).toMatchObject({ status: 'failed', reason: 'budget_exceeded', attempts: 1 });
    expect(final.lastError).toMatch(/over agent\.maxCostUsdPerTask/);
    expect(final.results['1.1'].usage.costUsd).toBeGreaterThan(3);
    expect(final.results['1.1'].usage.costUsd).toBeLessThan(10);
    expect(elapsedMs).toBeLessThan(60_000);
    expect(frames.some((f) => f.type === 'execution-update' && f.payload.reason === 'budget_exceeded')).toBe(true);
    // Nothing merged or pushed; the partial work is in the artifacts.
    expect(await git(remote.bare, 'rev-parse', 'refs/heads/main')).toBe(before);
    expect(list.find((a) => a.kind === 'diff')?.content).toMatch(/progress\.txt/);
    expect(list.find((a) => a.kind === 'usage')?.meta.stopped).toBe('budget_exceeded');
    // The agent and its background child are gone.
    expect(await processWith(marker)).toBe(false);
  }, 120_000);

  it('a run budget counts every attempt: the second attempt is stopped mid-stream when the sum crosses maxTokens', async () => {
    // Changes nothing (no_change → a second attempt), reports 400 tokens, then waits.
    const agent = `echo '{"usage":{"inputTokens":300,"outputTokens":100}}'; sleep 60`;
    const { final, artifacts: list, elapsedMs } = await run('token-budget', { budget: { maxTokens: 700 }, agent: { timeoutSec: 10 } }, agent);
    expect(final.results['1.1']).toMatchObject({ status: 'failed', reason: 'budget_exceeded', attempts: 2 });
    expect(final.usage).toEqual({ inputTokens: 600, outputTokens: 200, costUsd: null });
    // Attempt 1 ran its 10 s out (timeout); attempt 2 was stopped at once, not after 10 s more —
    // judged by the agent's own run time, not the run's wall clock (which a loaded machine stretches).
    const runs = list.filter((a) => a.kind === 'agent-output').map((a) => a.meta.durationMs as number);
    expect(runs).toHaveLength(2);
    expect(runs[0]).toBeGreaterThanOrEqual(9_500);
    expect(runs[1]).toBeLessThan(5_000);
    expect(elapsedMs).toBeLessThan(60_000);
    expect(list.filter((a) => a.kind === 'usage').map((a) => a.meta.stopped)).toEqual([null, 'budget_exceeded']);
  }, 120_000);

  it('a build that prints nothing and changes no file for verify.stallSec is stopped: stalled', async () => {
    const { final, artifacts: list, elapsedMs } = await run('verify-stall', { verify: { stallSec: 5 } }, 'echo "try $(date +%s%N)" >> NOTES.md', ['sh', '-c', 'echo building; sleep 100']);
    expect(final.results['1.1']).toMatchObject({ status: 'failed', reason: 'stalled', attempts: 3 });
    expect(elapsedMs).toBeLessThan(60_000);
    const outputs = list.filter((a) => a.kind === 'verify-output');
    expect(outputs.map((a) => a.meta.commands[0].outcome)).toEqual(['stalled', 'stalled', 'stalled']);
    // The next attempt was told.
    expect(list.filter((a) => a.kind === 'prompt')[1]!.content).toMatch(/stalled/);
  }, 120_000);
});
