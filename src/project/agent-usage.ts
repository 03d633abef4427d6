// What an agent's run cost, as the agent itself reported it: tokens in and out, and US dollars. A
// figure the agent did not report is null, never 0 — a sum is null only when none of its parts
// reported that figure (a sum of some known parts is a lower bound, and said so in the README).
import { z } from 'zod';

/** Above this a reported figure is refused as a lie: one run cannot use 10^10 tokens or $100k. */
export const MAX_REPORTED_TOKENS = 10_000_000_000;
export const MAX_REPORTED_COST_USD = 100_000;

/** A sum (of runs, attempts, tasks): no upper bound of its own — each reported part has one. */
const figure = z.number().nonnegative();

export const agentUsageSchema = z.object({
  inputTokens: figure.nullable(),
  outputTokens: figure.nullable(),
  costUsd: figure.nullable(),
});
export type AgentUsage = z.infer<typeof agentUsageSchema>;

export const UNKNOWN_USAGE: AgentUsage = Object.freeze({ inputTokens: null, outputTokens: null, costUsd: null });

function plus(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return a + b;
}

/** The sum of two usages, field by field; null + x = x, null + null = null. */
export function addUsage(a: AgentUsage | null | undefined, b: AgentUsage | null | undefined): AgentUsage {
  const x = a ?? UNKNOWN_USAGE;
  const y = b ?? UNKNOWN_USAGE;
  return { inputTokens: plus(x.inputTokens, y.inputTokens), outputTokens: plus(x.outputTokens, y.outputTokens), costUsd: plus(x.costUsd, y.costUsd) };
}

/** Tokens in and out together, or null when neither is known. */
export function totalTokens(u: AgentUsage): number | null {
  return u.inputTokens === null && u.outputTokens === null ? null : (u.inputTokens ?? 0) + (u.outputTokens ?? 0);
}

export function isUnknownUsage(u: AgentUsage): boolean {
  return u.inputTokens === null && u.outputTokens === null && u.costUsd === null;
}
