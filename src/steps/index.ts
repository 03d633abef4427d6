// The production steps of the project machine, one file each, against the ports in StepEnv:
// SELECT reads the task list, PREP prepares the work branch and the sandbox, IMPLEMENT runs the
// coding agent, VERIFY the build, MERGE commits and folds the work branch into the base, PUSH
// publishes it. Every step is safe to run again after a crash.
import { deleteWorkBranches, projectPaths, removeLaneWorkTrees } from '../infra/repo/index.js';
import { implementStep } from './implement.js';
import { laneMergeStep, lanePushStep } from './lane-merge.js';
import { mergeStep, pushStep } from './merge.js';
import { prepStep } from './prep.js';
import { selectStep } from './select.js';
import type { ProjectSteps, Step, StepContext } from './step-context.js';
import type { StepInput } from '../machines/index.js';
import { StepEnv, WORK_BRANCH_PREFIX, type ProjectRef, type ProjectStepsDeps } from './step-env.js';
import { verifyStep } from './verify.js';

export type { ProjectSteps, Step, StepContext } from './step-context.js';
export { workBranch, WORK_BRANCH_PREFIX, type ProjectRef, type ProjectStepsDeps } from './step-env.js';
export { loadPromptTemplates, defaultPromptTemplatesDir } from './prompt-templates.js';
export { buildRepoContext, type RepoContextOptions } from './repo-context.js';

/** The flat pipeline's step, or a lane's (decision 0028), by the input (each keeps its name for StepEnv.finishedStep). */
function byLane<O>(flat: Step<O>, lane: Step<O>): Step<O> {
  return (input, ctx) => (input.lane === undefined ? flat : lane)(input, ctx);
}

export function productionSteps(deps: ProjectStepsDeps, project: ProjectRef): ProjectSteps {
  // Artifacts are stored with every secret redacted: the diff and outputs of an attempt that wrote
  // one must not keep it (secret_in_diff names where, never the value).
  const artifacts: ProjectStepsDeps['artifacts'] = { put: async (a) => deps.artifacts.put({ ...a, content: await deps.secrets.redact(a.content) }) };
  // One per drive: the checkout and sandbox it resolves are kept until a step fails or is cancelled.
  const env = new StepEnv({ ...deps, artifacts }, project);
  const step =
    <O>(run: (env: StepEnv, input: StepInput, ctx: StepContext) => Promise<O>): Step<O> =>
    async (input, ctx) => {
      try {
        const output = await run(env, input, ctx);
        env.finishedStep(input, run.name);
        return output;
      } catch (error) {
        env.forget();
        throw error;
      }
    };
  return {
    select: step(selectStep),
    prep: step(prepStep),
    implement: step(implementStep),
    // The whole build in one of the worker's build slots (decision 0027): a burst of projects queues
    // for the cores, tenants in turn; the wait is on the live stream as well as in the log.
    verify: step((env, input, ctx) =>
      env.admitted('build', { signal: ctx.signal, log: ctx.log, onQueued: (ahead) => ctx.output?.('stderr', `[devteam] waiting for a build slot (${ahead} ahead)`) }, () =>
        verifyStep(env, input, ctx),
      ),
    ),
    // A task in a lane (parallelism > 1) merges through the merge queue: lane-merge.ts.
    merge: byLane(step(mergeStep), step(laneMergeStep)),
    push: byLane(step(pushStep), step(lanePushStep)),
    async cleanup(_input, { signal }) {
      await deps.sandbox.remove(project.tenant, project.projectId);
      // Every lane's sandbox and worktree too (parallelism > 1, decision 0028): their processes die.
      const lanes = project.config.parallelism ?? 1;
      if (lanes > 1) {
        for (let lane = 0; lane < lanes; lane++) await deps.sandbox.remove(project.tenant, project.projectId, lane);
        const { projectDir, gitDir } = projectPaths(deps.repos.root, project.tenant, project.projectId);
        await removeLaneWorkTrees(projectDir, gitDir);
      }
      env.forget();
      const repoDir = await env.local(signal).catch(() => null);
      if (repoDir) await deleteWorkBranches(repoDir, WORK_BRANCH_PREFIX, env.base, signal);
    },
  };
}
