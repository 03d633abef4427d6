// `devteam watch` as a child process against an embedded runtime (in this process, host sandbox,
// `command` agents in `sh -c`): it follows the project's latest execution — not an earlier one
// still in the frame log — and waits for a project that is not initialized yet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_SUBSCRIPTIONS_PER_CONNECTION } from '../../src/http/ws-stream.js';
import { createAgentRemote } from '../support/agent-remote.js';
import { startCli } from '../support/cli-process.js';
import { startEmbeddedRuntime, type EmbeddedRuntime } from '../support/embedded-runtime.js';
import { eventually } from '../support/services.js';

interface PrintedFrame {
  type: string;
  seq: number;
  executionId?: string | null;
  payload: { executionId?: string; status?: string } | null;
}

describe('devteam watch follows the present', () => {
  let rt: EmbeddedRuntime;

  beforeAll(async () => {
    rt = await startEmbeddedRuntime('devteam-watch', { DEVTEAM_SANDBOX: 'none' });
  }, 60_000);

  afterAll(async () => {
    await rt?.stop();
  }, 60_000);

  /** Initializes `projectId` with a one-task list and an agent that runs `script` in `sh -c`. */
  async function initialize(projectId: string, script: string): Promise<string> {
    const remote = await createAgentRemote(rt.dir, `${projectId}-${crypto.randomUUID().slice(0, 8)}`, [{ id: '1.1', title: 'write a file' }]);
    const res = await rt.initialize({
      projectId,
      repository: { url: `file://${remote.bare}`, branch: 'main' },
      agent: { preset: 'command', command: ['sh', '-c', script], timeoutSec: 60 },
      verify: { commands: [['git', '--version']], timeoutSec: 60 },
    });
    expect(res.status, res.text).toBe(202);
    return res.body.executionId as string;
  }

  function watch(projectId: string) {
    return startCli(['watch', projectId, '--url', rt.url(''), '--json'], {});
  }

  const printed = (lines: Array<Record<string, unknown>>) => lines.filter((l) => typeof l.type === 'string') as unknown as PrintedFrame[];
  const executionOf = (f: PrintedFrame) => f.executionId ?? f.payload?.executionId;

  it("after a second initialize, follows the new execution and exits on its final status, not the previous one's", async () => {
    const first = await initialize('demo', 'echo failing on purpose >&2; exit 3');
    expect(await rt.settled('demo')).toMatchObject({ status: 'failed' });
    const second = await initialize('demo', 'sleep 2; echo second > second.txt');

    const proc = watch('demo');
    expect(await proc.exited, proc.stderr.join('')).toBe(0);
    // It exited on the second execution's end: by then that one is completed.
    expect((await (await fetch(rt.url('/api/devteam/automation/status/demo'))).json()) as { executionId: string; status: string }).toMatchObject({
      executionId: second,
      status: 'completed',
    });
    const frames = printed(proc.lines).filter((f) => f.type !== 'hello');
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.filter((f) => executionOf(f) === first)).toEqual([]);
    expect(frames.every((f) => f.executionId === second)).toBe(true);
    const last = frames.filter((f) => f.type === 'execution-update' || f.type === 'resync').at(-1);
    expect(last?.payload).toMatchObject({ executionId: second, status: 'completed' });
  }, 120_000);

  it('on a project not initialized yet, says once that it waits, then follows its first run to the end', async () => {
    const proc = watch('later');
    await eventually(async () => (proc.stderr.join('').includes('waiting') ? true : undefined), 15_000, `the waiting line (exit ${proc.child.exitCode}, stderr ${proc.stderr.join('')})`);
    const execution = await initialize('later', 'echo later > later.txt');
    expect(await proc.exited, proc.stderr.join('')).toBe(0);
    const waiting = proc.stderr.join('').split('\n').filter((l) => l.includes('waiting'));
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toContain('later');
    const frames = printed(proc.lines).filter((f) => f.type === 'execution-update' || f.type === 'execution-log');
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => f.executionId === execution)).toBe(true);
    // From the first transition on: the run's seqs start at 1 and have no gap.
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i + 1));
    expect(frames.at(-1)?.payload).toMatchObject({ executionId: execution, status: 'completed' });
  }, 120_000);

  it('caps the projects one connection follows: ids never initialized cannot pin unbounded memory', async () => {
    const ws = new WebSocket(rt.url('/ws/devteam').replace('http', 'ws'));
    const frames: Array<{ type: string; projectId: string; payload: any }> = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const ids = Array.from({ length: MAX_SUBSCRIPTIONS_PER_CONNECTION + 1 }, (_, i) => `unused-${i}`);
    for (const projectId of ids) ws.send(JSON.stringify({ type: 'subscribe', projectId }));
    const answered = () => frames.filter((f) => f.type === 'resync' || f.type === 'error').length;
    await eventually(async () => (answered() === ids.length ? true : undefined), 60_000, 'every subscription to be answered');
    const errors = frames.filter((f) => f.type === 'error');
    // The first to go over the cap is refused (which one depends on answer order only past the cap).
    expect(errors).toHaveLength(1);
    expect(errors[0]!.payload.message).toContain(`at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} projects`);
    expect(frames.filter((f) => f.type === 'resync')).toHaveLength(MAX_SUBSCRIPTIONS_PER_CONNECTION);
    // Unsubscribing makes room again.
    ws.send(JSON.stringify({ type: 'unsubscribe', projectId: 'unused-0' }));
    ws.send(JSON.stringify({ type: 'subscribe', projectId: errors[0]!.projectId }));
    await eventually(async () => (frames.filter((f) => f.type === 'resync' && f.projectId === errors[0]!.projectId).length === 1 ? true : undefined), 10_000, 'the refused id to be subscribed');
    ws.close();
  }, 90_000);
});
