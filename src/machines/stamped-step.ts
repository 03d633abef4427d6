// How the actor host provides a step: a promise actor whose result (or failure) is stamped with
// the host's clock, so the times the machine records come in its events, never from inside it.
import { fromPromise, type PromiseActorLogic } from 'xstate';
import type { Stamp, Stamped, StepInput } from './step-contracts.js';

/** Stands for "no time known": a failure that did not pass through stampedStep (never in production). */
export const UNSTAMPED = '1970-01-01T00:00:00.000Z';

/** A step that threw, with the time it did; the message is the step's own. */
export class StepFailure extends Error {
  override readonly name = 'StepFailure';
  constructor(
    cause: unknown,
    readonly at: string,
  ) {
    super(messageOf(cause), { cause });
  }
}

export type StepRun<TOutput, TInput> = (args: { input: TInput; signal: AbortSignal }) => Promise<TOutput>;

/** Wraps a step so its output carries `at` and a throw becomes a StepFailure with `at`. */
export function stampedStep<TOutput, TInput = StepInput>(step: StepRun<TOutput, TInput>, clock: () => Date): PromiseActorLogic<Stamped<TOutput>, TInput> {
  return fromPromise<Stamped<TOutput>, TInput>(async ({ input, signal }) => {
    let output: TOutput;
    try {
      output = await step({ input, signal });
    } catch (error) {
      throw error instanceof StepFailure ? error : new StepFailure(error, clock().toISOString());
    }
    return { ...(output as object), at: clock().toISOString() } as Stamped<TOutput>;
  });
}

/** The time of a step failure (the error of an `xstate.error.actor.*` event). */
export function stampOfFailure(error: unknown): Stamp {
  return { at: error instanceof StepFailure ? error.at : UNSTAMPED };
}

/** The message of whatever a step threw. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
