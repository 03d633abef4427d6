// Reads what an agent CLI reports about its own usage from its machine-readable output, line by
// line while it streams (decision 0026). The output is hostile input: only bounded stdout lines
// that look like the preset's usage events are parsed, every figure passes a zod check (finite,
// non-negative, below MAX_REPORTED_*), and per run the figures never go down — a lying agent can
// inflate only its own run's usage (and so fail its own run), never crash the reader.
import { z } from 'zod';
import { MAX_REPORTED_COST_USD, MAX_REPORTED_TOKENS, UNKNOWN_USAGE, type AgentPresetName, type AgentUsage } from '../../project/index.js';

/** Usage events are small; a longer line (a tool call carrying a file) is not read. */
export const MAX_USAGE_LINE_CHARS = 64 * 1024;
/** Message / step ids remembered for de-duplication; older ones keep counting, they are only not de-duplicated. */
const MAX_IDS = 10_000;

const tokens = z.number().int().nonnegative().max(MAX_REPORTED_TOKENS);
const cost = z.number().nonnegative().max(MAX_REPORTED_COST_USD);
const id = z.string().max(256);

export interface UsageMeter {
  /** Reads one output line; true when the usage changed. */
  line(stream: 'stdout' | 'stderr', text: string): boolean;
  /** The run's usage so far: null figures were never reported. */
  readonly usage: AgentUsage;
}

/** Tokens in: new input plus what was read from or written to the prompt cache (all of it was sent). */
const claudeTokens = z.object({
  input_tokens: tokens.nullish(),
  output_tokens: tokens.nullish(),
  cache_creation_input_tokens: tokens.nullish(),
  cache_read_input_tokens: tokens.nullish(),
});
type ClaudeTokens = z.infer<typeof claudeTokens>;
const claudeEvent = z.discriminatedUnion('type', [
  // One per content block; the blocks of one message repeat the message's usage (seen 2.1.332).
  z.object({ type: z.literal('assistant'), message: z.object({ id, usage: claudeTokens }) }),
  // The last line: the session's totals and its cost.
  z.object({ type: z.literal('result'), usage: claudeTokens.optional(), total_cost_usd: cost.optional() }),
]);
const claudeIn = (u: ClaudeTokens) => (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);

/** Codex `exec --json`: the usage of a turn when it completes (cached input is part of input, reasoning of output). */
const codexEvent = z.object({
  type: z.literal('turn.completed'),
  usage: z.object({ input_tokens: tokens, output_tokens: tokens }),
});

/** Gemini CLI `-o stream-json`: the session's totals in the final `result` line. */
const geminiEvent = z.object({
  type: z.literal('result'),
  stats: z.object({ input_tokens: tokens, output_tokens: tokens }),
});

/** OpenCode `--format json`: each step's tokens and cost as it finishes (cache and reasoning counted apart). */
const opencodeEvent = z.object({
  type: z.literal('step_finish'),
  part: z.object({
    id,
    tokens: z.object({
      input: tokens,
      output: tokens,
      reasoning: tokens.nullish(),
      cache: z.object({ read: tokens.nullish(), write: tokens.nullish() }).nullish(),
    }),
    cost: cost.nullish(),
  }),
});

/** The `command` preset: a line `{"usage": {...}}` with the run's totals so far (README, "Usage of a command agent"). */
const commandEvent = z.strictObject({
  usage: z.strictObject({ inputTokens: tokens.optional(), outputTokens: tokens.optional(), costUsd: cost.optional() }),
});

function parsed<T>(schema: z.ZodType<T>, text: string, marker: string): T | null {
  if (text.length > MAX_USAGE_LINE_CHARS || text[0] !== '{' || !text.includes(marker)) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const result = schema.safeParse(value);
  return result.success ? result.data : null;
}

/** Figures that only go up: a report lower than what is known is ignored. */
class Figures {
  private current: AgentUsage = UNKNOWN_USAGE;

  get usage(): AgentUsage {
    return this.current;
  }

  /** Raises each given figure to at least its value; true when any changed. */
  raise(next: Partial<AgentUsage>): boolean {
    const up = (was: number | null, now: number | null | undefined) => (now === undefined || now === null ? was : was === null ? now : Math.max(was, now));
    const merged: AgentUsage = {
      inputTokens: up(this.current.inputTokens, next.inputTokens),
      outputTokens: up(this.current.outputTokens, next.outputTokens),
      costUsd: up(this.current.costUsd, next.costUsd),
    };
    const changed = merged.inputTokens !== this.current.inputTokens || merged.outputTokens !== this.current.outputTokens || merged.costUsd !== this.current.costUsd;
    this.current = merged;
    return changed;
  }
}

/** Remembers ids seen, at most MAX_IDS. */
class SeenIds {
  private readonly ids = new Map<string, { input: number; output: number }>();

  /** The figures last counted for `key` (zeros when new). */
  get(key: string): { input: number; output: number } {
    return this.ids.get(key) ?? { input: 0, output: 0 };
  }

  set(key: string, value: { input: number; output: number }): void {
    if (!this.ids.has(key) && this.ids.size >= MAX_IDS) this.ids.delete(this.ids.keys().next().value!);
    this.ids.set(key, value);
  }

  has(key: string): boolean {
    return this.ids.has(key);
  }
}

function claudeMeter(): UsageMeter {
  const figures = new Figures();
  const messages = new SeenIds();
  let streamed = { input: 0, output: 0 };
  return {
    get usage() {
      return figures.usage;
    },
    line(stream, text) {
      if (stream !== 'stdout') return false;
      const event = parsed(claudeEvent, text, '"usage"') ?? parsed(claudeEvent, text, '"total_cost_usd"');
      if (!event) return false;
      if (event.type === 'result') {
        // The session's own totals replace the per-message estimate (which lacks final output counts).
        const u = event.usage;
        return figures.raise({ ...(u ? { inputTokens: claudeIn(u), outputTokens: u.output_tokens ?? null } : {}), costUsd: event.total_cost_usd ?? null });
      }
      const u = event.message.usage;
      const was = messages.get(event.message.id);
      const now = { input: Math.max(was.input, claudeIn(u)), output: Math.max(was.output, u.output_tokens ?? 0) };
      messages.set(event.message.id, now);
      streamed = { input: streamed.input + now.input - was.input, output: streamed.output + now.output - was.output };
      return figures.raise({ inputTokens: streamed.input, outputTokens: streamed.output });
    },
  };
}

function summingMeter<T>(schema: z.ZodType<T>, marker: string, read: (event: T) => { key?: string; input: number; output: number; cost?: number | null }): UsageMeter {
  const figures = new Figures();
  const steps = new SeenIds();
  let sum: AgentUsage = { inputTokens: null, outputTokens: null, costUsd: null };
  return {
    get usage() {
      return figures.usage;
    },
    line(stream, text) {
      if (stream !== 'stdout') return false;
      const event = parsed(schema, text, marker);
      if (!event) return false;
      const step = read(event);
      if (step.key !== undefined) {
        if (steps.has(step.key)) return false;
        steps.set(step.key, { input: step.input, output: step.output });
      }
      sum = {
        inputTokens: (sum.inputTokens ?? 0) + step.input,
        outputTokens: (sum.outputTokens ?? 0) + step.output,
        costUsd: step.cost === undefined || step.cost === null ? sum.costUsd : (sum.costUsd ?? 0) + step.cost,
      };
      return figures.raise(sum);
    },
  };
}

function replacingMeter<T>(schema: z.ZodType<T>, marker: string, read: (event: T) => Partial<AgentUsage>): UsageMeter {
  const figures = new Figures();
  return {
    get usage() {
      return figures.usage;
    },
    line(stream, text) {
      if (stream !== 'stdout') return false;
      const event = parsed(schema, text, marker);
      return event ? figures.raise(read(event)) : false;
    },
  };
}

const METERS: Record<AgentPresetName, () => UsageMeter> = {
  'claude-code': claudeMeter,
  codex: () => summingMeter(codexEvent, '"turn.completed"', (e) => ({ input: e.usage.input_tokens, output: e.usage.output_tokens })),
  gemini: () => replacingMeter(geminiEvent, '"stats"', (e) => ({ inputTokens: e.stats.input_tokens, outputTokens: e.stats.output_tokens })),
  opencode: () =>
    summingMeter(opencodeEvent, '"step_finish"', (e) => {
      const t = e.part.tokens;
      return { key: e.part.id, input: t.input + (t.cache?.read ?? 0) + (t.cache?.write ?? 0), output: t.output + (t.reasoning ?? 0), cost: e.part.cost };
    }),
  command: () => replacingMeter(commandEvent, '"usage"', (e) => e.usage),
  // Aider prints no machine-readable usage: unknown.
  aider: () => replacingMeter(z.never(), '\0', () => ({})),
};

/** A meter for one run of `preset`. */
export function usageMeter(preset: AgentPresetName): UsageMeter {
  return METERS[preset]();
}
