// Reading usage from each agent CLI's own output, with lines in the shapes the real CLIs printed
// against the scripted model server (claude-code 2.1.332, codex 0.171.0, gemini-cli 0.61.0,
// opencode 1.18.33), and hostile lines that must change nothing.
import { describe, expect, it } from 'vitest';
import { MAX_USAGE_LINE_CHARS, usageMeter } from '../../src/infra/agent/index.js';
import { budgetCrossed } from '../../src/steps/agent-guard.js';
import { addUsage, totalTokens, UNKNOWN_USAGE } from '../../src/project/index.js';

const j = (v: unknown) => JSON.stringify(v);
const feed = (preset: Parameters<typeof usageMeter>[0], lines: string[]) => {
  const meter = usageMeter(preset);
  for (const line of lines) meter.line('stdout', line);
  return meter.usage;
};

const claudeAssistant = (id: string, input: number, output: number) =>
  j({ type: 'assistant', message: { id, type: 'message', role: 'assistant', content: [{ type: 'text', text: 'x' }], usage: { input_tokens: input, output_tokens: output } }, session_id: 's' });

describe('usage meters', () => {
  it('Claude Code: streamed messages counted once per message id, then replaced by the result totals and cost', () => {
    const meter = usageMeter('claude-code');
    expect(meter.line('stdout', j({ type: 'system', subtype: 'init', cwd: '/w' }))).toBe(false);
    expect(meter.line('stdout', claudeAssistant('msg_1', 100, 1))).toBe(true);
    // The next content block of the same message repeats its usage: not counted twice.
    expect(meter.line('stdout', claudeAssistant('msg_1', 100, 1))).toBe(false);
    meter.line('stdout', claudeAssistant('msg_2', 120, 1));
    expect(meter.usage).toEqual({ inputTokens: 220, outputTokens: 2, costUsd: null });
    meter.line('stdout', j({ type: 'result', subtype: 'success', total_cost_usd: 0.00048, usage: { input_tokens: 220, cache_read_input_tokens: 30, cache_creation_input_tokens: 0, output_tokens: 20 } }));
    expect(meter.usage).toEqual({ inputTokens: 250, outputTokens: 20, costUsd: 0.00048 });
  });

  it('Codex: turn.completed usage is summed; no cost', () => {
    const line = j({ type: 'turn.completed', usage: { input_tokens: 20, cached_input_tokens: 0, output_tokens: 20, reasoning_output_tokens: 0 } });
    expect(feed('codex', [j({ type: 'thread.started', thread_id: 't' }), line, line])).toEqual({ inputTokens: 40, outputTokens: 40, costUsd: null });
  });

  it('Gemini CLI: the result stats', () => {
    const line = j({ type: 'result', status: 'success', stats: { total_tokens: 40, input_tokens: 20, output_tokens: 20, cached: 0, input: 20, duration_ms: 139, tool_calls: 1 } });
    expect(feed('gemini', [j({ type: 'init', model: 'gemini-2.5-pro' }), line])).toEqual({ inputTokens: 20, outputTokens: 20, costUsd: null });
  });

  it('OpenCode: each step_finish once (by part id), cache with input, reasoning with output, cost summed', () => {
    const step = (id: string) => j({ type: 'step_finish', part: { id, type: 'step-finish', tokens: { total: 20, input: 10, output: 10, reasoning: 2, cache: { write: 1, read: 3 } }, cost: 0.01 } });
    expect(feed('opencode', [step('prt_1'), step('prt_1'), step('prt_2')])).toEqual({ inputTokens: 28, outputTokens: 24, costUsd: 0.02 });
  });

  it('command: the {"usage": …} line with running totals; a lower report changes nothing', () => {
    expect(feed('command', [j({ usage: { inputTokens: 5, costUsd: 0.1 } }), j({ usage: { inputTokens: 3, outputTokens: 2 } })])).toEqual({ inputTokens: 5, outputTokens: 2, costUsd: 0.1 });
  });

  it('an agent that reports nothing has unknown usage, never 0', () => {
    expect(feed('command', ['hello', '{"not":"usage"}'])).toEqual(UNKNOWN_USAGE);
    expect(feed('aider', [j({ usage: { inputTokens: 5 } })])).toEqual(UNKNOWN_USAGE);
  });

  it.each([
    ['not JSON', '{"usage": {"inputTokens": 5'],
    ['negative', j({ usage: { inputTokens: -5 } })],
    ['not a number', j({ usage: { inputTokens: '5' } })],
    ['infinite as a huge exponent', '{"usage":{"inputTokens":1e400}}'],
    ['beyond any real run', j({ usage: { inputTokens: 1e12 } })],
    ['a fraction of a token', j({ usage: { inputTokens: 1.5 } })],
    ['unknown fields', j({ usage: { inputTokens: 5, evil: true } })],
    ['prototype keys', '{"usage":{"__proto__":{"inputTokens":5}}}'],
    ['too long', j({ usage: { inputTokens: 5 }, pad: 'x'.repeat(MAX_USAGE_LINE_CHARS) })],
  ])('a hostile line changes nothing: %s', (_, line) => {
    const meter = usageMeter('command');
    expect(meter.line('stdout', line)).toBe(false);
    expect(meter.usage).toEqual(UNKNOWN_USAGE);
  });

  it('stderr is never read for usage', () => {
    const meter = usageMeter('command');
    expect(meter.line('stderr', j({ usage: { inputTokens: 5 } }))).toBe(false);
  });

  it('a Claude Code stream with more message ids than are remembered keeps counting', () => {
    const meter = usageMeter('claude-code');
    for (let i = 0; i < 10_050; i++) meter.line('stdout', claudeAssistant(`m${i}`, 1, 0));
    expect(meter.usage.inputTokens).toBe(10_050);
  });
});

describe('usage sums and budgets', () => {
  const none = { usage: UNKNOWN_USAGE, durationMs: 0 };
  const agent = { preset: 'command' as const, args: [], timeoutSec: 60, stallSec: 300 };

  it('null + x = x, null + null = null', () => {
    expect(addUsage(UNKNOWN_USAGE, UNKNOWN_USAGE)).toEqual(UNKNOWN_USAGE);
    expect(addUsage({ inputTokens: 1, outputTokens: null, costUsd: null }, { inputTokens: 2, outputTokens: null, costUsd: 0.5 })).toEqual({ inputTokens: 3, outputTokens: null, costUsd: 0.5 });
    expect(totalTokens(UNKNOWN_USAGE)).toBeNull();
  });

  it.each([
    ['tokens of earlier runs count', { budget: { maxTokens: 100 } }, { execution: { usage: { inputTokens: 90, outputTokens: 0, costUsd: null }, durationMs: 0 }, task: none }, { inputTokens: 5, outputTokens: 6, costUsd: null }, 0, /101 tokens, over its budget of 100/],
    ['at the limit is not over it', { budget: { maxTokens: 100 } }, { execution: none, task: none }, { inputTokens: 50, outputTokens: 50, costUsd: null }, 0, null],
    ['unknown tokens never cross', { budget: { maxTokens: 1 } }, { execution: none, task: none }, UNKNOWN_USAGE, 0, null],
    ['the run cost', { budget: { maxCostUsd: 1 } }, { execution: { usage: { inputTokens: null, outputTokens: null, costUsd: 0.9 }, durationMs: 0 }, task: none }, { inputTokens: null, outputTokens: null, costUsd: 0.2 }, 0, /over its budget of \$1\.0000/],
    ['the task cost', { agent: { ...agent, maxCostUsdPerTask: 0.5 } }, { execution: none, task: { usage: { inputTokens: null, outputTokens: null, costUsd: 0.4 }, durationMs: 0 } }, { inputTokens: null, outputTokens: null, costUsd: 0.2 }, 0, /over agent\.maxCostUsdPerTask/],
    ['agent minutes over attempts', { budget: { maxMinutes: 1 } }, { execution: { usage: UNKNOWN_USAGE, durationMs: 50_000 }, task: none }, UNKNOWN_USAGE, 10_000, /agents ran 1\.00 minutes/],
  ])('%s', (_, config, before, live, liveMs, want) => {
    const crossed = budgetCrossed({ agent, ...config } as never, before, live, liveMs);
    if (want === null) expect(crossed).toBeNull();
    else expect(crossed).toMatch(want);
  });
});
