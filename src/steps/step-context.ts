// What every step gets besides its input, and the set of steps a project run is given.
import type { Logger } from '../infra/log.js';
import type { ImplementOutput, MergeOutput, PrepOutput, PushOutput, SelectOutput, StepInput, VerifyOutput } from '../machines/index.js';

export interface StepContext {
  signal: AbortSignal;
  log: Logger;
  /** Output lines for the live stream (agent or verify). */
  output?: (stream: 'stdout' | 'stderr', text: string) => void;
}

export type Step<O> = (input: StepInput, ctx: StepContext) => Promise<O>;

export interface ProjectSteps {
  select: Step<SelectOutput>;
  prep: Step<PrepOutput>;
  implement: Step<ImplementOutput>;
  verify: Step<VerifyOutput>;
  merge: Step<MergeOutput>;
  push: Step<PushOutput>;
  cleanup: Step<void>;
}
