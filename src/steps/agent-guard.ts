// What watches one agent run of IMPLEMENT besides the wall clock (decision 0026): the usage the
// agent reports, recorded per run while it streams and checked against the run's budget and the
// task's; and the stall watchdog. Either stops the run by aborting its signal — the sandbox kills
// the run's whole process group — and says why.
import { randomUUID } from 'node:crypto';
import { usageMeter, type UsageMeter } from '../infra/agent/index.js';
import type { UsageStore, UsageTotals } from '../infra/db/index.js';
import type { Logger } from '../infra/log.js';
import { addUsage, totalTokens, type AgentPresetName, type AgentUsage, type InitializeBody } from '../project/index.js';
import { StallWatchdog } from './stall-watchdog.js';

/** The run's row is written at most this often while the agent streams (and once when it ends). */
const RECORD_EVERY_MS = 1_000;

export type GuardStop = { reason: 'budget_exceeded' | 'stalled'; detail: string };

export interface AgentGuardDeps {
  usage: UsageStore;
  /** Adds what a run reported since the last call to the worker's counters (devteam_agent_*_total). */
  countUsage?: (delta: AgentUsage) => void;
  log: Logger;
}

export interface AgentGuardInput {
  executionId: string;
  taskId: string;
  attempt: number;
  preset: AgentPresetName;
  config: Pick<InitializeBody, 'agent' | 'budget'>;
  /** The work tree, for the stall watchdog. */
  repoDir: string;
  /** The step's signal: aborting it aborts the run too. */
  signal: AbortSignal;
}

const money = (n: number) => `$${n.toFixed(4)}`;

/** The limit `live` crosses given what earlier runs used, or null. Pure: tested by table. */
export function budgetCrossed(config: AgentGuardInput['config'], before: { execution: UsageTotals; task: UsageTotals }, live: AgentUsage, liveMs: number): string | null {
  const b = config.budget;
  const run = addUsage(before.execution.usage, live);
  const task = addUsage(before.task.usage, live);
  const runTokens = totalTokens(run);
  if (b?.maxTokens !== undefined && runTokens !== null && runTokens > b.maxTokens) return `the run used ${runTokens} tokens, over its budget of ${b.maxTokens}`;
  if (b?.maxCostUsd !== undefined && run.costUsd !== null && run.costUsd > b.maxCostUsd) return `the run cost ${money(run.costUsd)}, over its budget of ${money(b.maxCostUsd)}`;
  const perTask = config.agent.maxCostUsdPerTask;
  if (perTask !== undefined && task.costUsd !== null && task.costUsd > perTask) return `the task cost ${money(task.costUsd)}, over agent.maxCostUsdPerTask ${money(perTask)}`;
  const minutes = (before.execution.durationMs + liveMs) / 60_000;
  if (b?.maxMinutes !== undefined && minutes >= b.maxMinutes) return `agents ran ${minutes.toFixed(2)} minutes, the run's budget is ${b.maxMinutes}`;
  return null;
}

export class AgentGuard {
  readonly runId = randomUUID();
  private readonly controller = new AbortController();
  private readonly meter: UsageMeter;
  private readonly watchdog: StallWatchdog;
  private started = 0;
  private minutesTimer: NodeJS.Timeout | undefined;
  private recordTimer: NodeJS.Timeout | undefined;
  private counted: AgentUsage = { inputTokens: null, outputTokens: null, costUsd: null };
  private writing: Promise<void> = Promise.resolve();
  private why: GuardStop | null = null;
  private readonly onStepAbort = () => this.controller.abort(this.input.signal.reason);

  private constructor(
    private readonly deps: AgentGuardDeps,
    private readonly input: AgentGuardInput,
    private readonly before: { execution: UsageTotals; task: UsageTotals },
  ) {
    this.meter = usageMeter(input.preset);
    this.watchdog = new StallWatchdog({
      dir: input.repoDir,
      stallMs: input.config.agent.stallSec * 1000,
      onStall: () => this.stop({ reason: 'stalled', detail: `the agent printed nothing and changed no file for ${input.config.agent.stallSec} s` }),
      onScanError: (error) => deps.log.warn({ err: error }, 'the stall watchdog could not scan the work tree'),
    });
  }

  /** A guard for the attempt's next run, knowing what the execution's earlier runs used (any worker). */
  static async open(deps: AgentGuardDeps, input: AgentGuardInput): Promise<AgentGuard> {
    const before = await deps.usage.totals({ executionId: input.executionId, taskId: input.taskId, attempt: input.attempt });
    return new AgentGuard(deps, input, before);
  }

  /** Why the budget forbids even starting the run (spent by earlier runs), or null. */
  exhausted(): string | null {
    return budgetCrossed(this.input.config, this.before, this.meter.usage, 0);
  }

  /** The signal the run is given: aborted by the step's signal, a crossed budget or a stall. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the guard stopped the run, or null. */
  get stopped(): GuardStop | null {
    return this.why;
  }

  /** Starts the clocks; call right before the run. */
  start(): void {
    this.started = Date.now();
    if (this.input.signal.aborted) this.onStepAbort();
    else this.input.signal.addEventListener('abort', this.onStepAbort, { once: true });
    this.watchdog.start();
    const maxMinutes = this.input.config.budget?.maxMinutes;
    if (maxMinutes !== undefined) {
      const leftMs = Math.max(0, maxMinutes * 60_000 - this.before.execution.durationMs);
      this.minutesTimer = setTimeout(() => this.check(), leftMs);
    }
    this.record(null);
  }

  /** Each output line of the run (already redacted). */
  line(stream: 'stdout' | 'stderr', text: string): void {
    this.watchdog.activity();
    if (!this.meter.line(stream, text)) return;
    this.count();
    this.check();
    this.recordSoon();
  }

  /** Stops the clocks and writes the run's final figures; returns the attempt's usage over all its runs. */
  async finish(outcome: string): Promise<{ run: AgentUsage; attempt: AgentUsage; durationMs: number }> {
    this.watchdog.stop();
    clearTimeout(this.minutesTimer);
    clearTimeout(this.recordTimer);
    this.input.signal.removeEventListener('abort', this.onStepAbort);
    this.record(this.why?.reason ?? outcome);
    await this.writing;
    const durationMs = Date.now() - this.started;
    const attempt = await this.deps.usage
      .totals({ executionId: this.input.executionId, taskId: this.input.taskId, attempt: this.input.attempt })
      .then((t) => t.attempt.usage)
      .catch(() => this.meter.usage);
    return { run: this.meter.usage, attempt, durationMs };
  }

  private check(): void {
    if (this.why) return;
    const crossed = budgetCrossed(this.input.config, this.before, this.meter.usage, Date.now() - this.started);
    if (crossed) this.stop({ reason: 'budget_exceeded', detail: crossed });
  }

  private stop(why: GuardStop): void {
    if (this.why || this.controller.signal.aborted) return;
    this.why = why;
    this.deps.log.warn({ reason: why.reason, detail: why.detail }, 'stopping the agent');
    this.controller.abort(new Error(why.detail));
  }

  /** The worker's counters get what is new since the last call (figures only go up). */
  private count(): void {
    const now = this.meter.usage;
    const delta = (a: number | null, b: number | null) => (a === null ? null : a - (b ?? 0));
    this.deps.countUsage?.({ inputTokens: delta(now.inputTokens, this.counted.inputTokens), outputTokens: delta(now.outputTokens, this.counted.outputTokens), costUsd: delta(now.costUsd, this.counted.costUsd) });
    this.counted = now;
  }

  private recordSoon(): void {
    this.recordTimer ??= setTimeout(() => {
      this.recordTimer = undefined;
      this.record(null);
    }, RECORD_EVERY_MS);
  }

  /** Writes the run's row, one write after the other; a failed write is logged (the next one retries). */
  private record(outcome: string | null): void {
    const run = {
      id: this.runId,
      executionId: this.input.executionId,
      taskId: this.input.taskId,
      attempt: this.input.attempt,
      preset: this.input.preset,
      usage: this.meter.usage,
      durationMs: this.started ? Date.now() - this.started : 0,
      outcome,
    };
    this.writing = this.writing.then(() => this.deps.usage.record(run)).catch((error: unknown) => this.deps.log.warn({ err: error }, 'could not record the agent run usage'));
  }
}
