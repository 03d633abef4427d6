// From crossing a budget to the agent's death: an agent (the `command` preset, a node script) reports
// growing token counts every 10 ms, as agents do while they stream; the IMPLEMENT guard (AgentGuard)
// reads them, and the run's budget stops it. Measured per run: the time the agent wrote the line
// that crossed the budget (its own clock: performance.timeOrigin + now, shared with ours) to the
// time runAgent returned — the sandbox killed the process group and everything it started (a
// background `sleep` here) and reaped it. Promise (issue 15): within 1 s. Per driver: local
// (bubblewrap + cgroup) and none (host process group). Run: node dist/bench/budget-kill.js [--runs 30].
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildInvocation, runAgent } from '../src/infra/agent/index.js';
import type { AgentRunUsage, UsageStore } from '../src/infra/db/index.js';
import { createLogger } from '../src/infra/log.js';
import { BwrapSandbox, HostSandbox, type Sandbox } from '../src/infra/sandbox/index.js';
import { UNKNOWN_USAGE } from '../src/project/index.js';
import { AgentGuard } from '../src/steps/agent-guard.js';
import { machine, percentile, summary } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, drivers: { type: 'string', default: 'local,none' } } });
const RUNS = Number(values.runs);
const LIMIT = 500;
const GATE_MS = 1_000;

/** Reports 10 more tokens every 10 ms, forever; says when the line it is about to write crosses LIMIT. */
const AGENT = `
require('node:child_process').spawn('sleep', ['600'], { stdio: 'ignore' });
let n = 0;
setInterval(() => {
  n += 10;
  if (n === ${LIMIT + 10}) console.log('crossing ' + (performance.timeOrigin + performance.now()));
  console.log(JSON.stringify({ usage: { inputTokens: n } }));
}, 10);
`;

/** The budget is over this run only: no earlier runs, nothing kept. */
const memoryUsage: UsageStore = {
  record: async (_run: AgentRunUsage) => undefined,
  totals: async () => ({ execution: { usage: UNKNOWN_USAGE, durationMs: 0 }, task: { usage: UNKNOWN_USAGE, durationMs: 0 }, attempt: { usage: UNKNOWN_USAGE, durationMs: 0 } }),
};

function make(driver: string, prefix: string): Sandbox {
  if (driver === 'local') return new BwrapSandbox({ prefix });
  if (driver === 'none') return new HostSandbox({ prefix });
  throw new Error(`unknown driver ${driver}`);
}

console.log(machine());
const log = createLogger({ level: 'silent' });
const workspace = await mkdtemp(join(tmpdir(), 'devteam-bench-budget-'));
let failed = false;
try {
  for (const driver of values.drivers!.split(',')) {
    const sandboxes = make(driver, `devteam-bench-${crypto.randomUUID().slice(0, 6)}`);
    const { sandbox } = await sandboxes.ensure({ tenant: 'bench', projectId: 'budget', workspace, limits: { cpus: 1, memoryMb: 512 } });
    const samples: number[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        const config = { agent: { preset: 'command' as const, command: [process.execPath, '-e', AGENT], args: [], timeoutSec: 60, stallSec: 300 }, budget: { maxTokens: LIMIT } };
        const guard = await AgentGuard.open({ usage: memoryUsage, log }, { executionId: 'e', taskId: '1.1', attempt: 1, preset: 'command', config, repoDir: workspace, signal: new AbortController().signal });
        let crossing = NaN;
        guard.start();
        const invocation = buildInvocation('command', { promptFile: '/dev/null', prompt: '', args: [], command: config.agent.command, home: `${sandbox.workspacePath}/home`, env: {} });
        const run = await runAgent(sandbox, invocation, {
          timeoutMs: 30_000,
          signal: guard.signal,
          homeOnHost: join(workspace, 'home'),
          onLine: (stream, line) => {
            if (line.startsWith('crossing ')) crossing = Number(line.slice(9));
            guard.line(stream, line);
          },
        });
        const dead = performance.timeOrigin + performance.now();
        await guard.finish(run.outcome);
        if (guard.stopped?.reason !== 'budget_exceeded' || run.outcome !== 'cancelled' || Number.isNaN(crossing)) throw new Error(`run ${i}: not stopped by the budget (${run.outcome}, ${guard.stopped?.reason})`);
        samples.push(dead - crossing);
      }
    } finally {
      await sandboxes.remove('bench', 'budget');
      await sandboxes.close();
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const ok = percentile(sorted, 99) <= GATE_MS;
    failed ||= !ok;
    console.log(`${summary(`crossing → death (${driver})`, samples, 30)}  max ${sorted.at(-1)!.toFixed(2)} ms  ${ok ? 'ok' : 'FAILED'} (p99 ≤ ${GATE_MS} ms)`);
  }
} finally {
  await rm(workspace, { recursive: true, force: true });
}
if (failed) process.exitCode = 1;
