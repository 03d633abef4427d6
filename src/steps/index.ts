// The production steps of the project machine, one file each, against the ports in StepEnv:
// SELECT reads the task list, PREP prepares the work branch and the sandbox, IMPLEMENT runs the
// coding agent, VERIFY the build, MERGE commits and folds the work branch into the base, PUSH
// publishes it. Every step is safe to run again after a crash.
import { deleteWorkBranches } from '../infra/repo/index.js';
import { implementStep } from './implement.js';
import { mergeStep, pushStep } from './merge.js';
import { prepStep } from './prep.js';
import { selectStep } from './select.js';
import type { ProjectSteps } from './step-context.js';
import { StepEnv, WORK_BRANCH_PREFIX, type ProjectRef, type ProjectStepsDeps } from './step-env.js';
import { verifyStep } from './verify.js';

export type { ProjectSteps, Step, StepContext } from './step-context.js';
export { workBranch, WORK_BRANCH_PREFIX, type ProjectRef, type ProjectStepsDeps } from './step-env.js';
export { loadPromptTemplates, defaultPromptTemplatesDir } from './prompt-templates.js';
export { buildRepoContext, type RepoContextOptions } from './repo-context.js';

export function productionSteps(deps: ProjectStepsDeps, project: ProjectRef): ProjectSteps {
  const env = new StepEnv(deps, project);
  return {
    select: (input, ctx) => selectStep(env, input, ctx),
    prep: (input, ctx) => prepStep(env, input, ctx),
    implement: (input, ctx) => implementStep(env, input, ctx),
    verify: (input, ctx) => verifyStep(env, input, ctx),
    merge: (input, ctx) => mergeStep(env, input, ctx),
    push: (input, ctx) => pushStep(env, input, ctx),
    async cleanup(_input, { signal }) {
      await deps.sandbox.remove(project.tenant, project.projectId);
      const repoDir = await env.local(signal).catch(() => null);
      if (repoDir) await deleteWorkBranches(repoDir, WORK_BRANCH_PREFIX, env.base, signal);
    },
  };
}
