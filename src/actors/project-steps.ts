// The production steps of the project machine: SELECT reads the task list from the repository,
// PREP fetches and creates the task's work branch and the project's sandbox, IMPLEMENT runs the
// coding agent, VERIFY the build, MERGE commits and folds the work branch into the base branch,
// PUSH publishes it with per-call credentials. Every step is safe to run again after a crash.
import type { Logger } from '../infra/log.js';
import type { ImplementOutput, MergeOutput, PrepOutput, PushOutput, SelectOutput, StepInput, VerifyOutput } from '../machines/index.js';
import { commitsAhead, commitWork, createWorkBranch, deleteWorkBranches, mergeIntoBase, pushBase, resetToBase } from '../infra/repo/index.js';
import { progress, selectNextTask } from '../infra/tasks/index.js';
import { implementStep } from './implement-step.js';
import { StepEnv, workBranch, WORK_BRANCH_PREFIX, type ProjectRef, type ProjectStepsDeps } from './step-env.js';
import { verifyStep } from './verify-step.js';

export { workBranch, WORK_BRANCH_PREFIX, type ProjectRef, type ProjectStepsDeps } from './step-env.js';

export interface StepContext {
  signal: AbortSignal;
  log: Logger;
  /** Output lines for the live stream (agent or verify). */
  output?: (stream: 'stdout' | 'stderr', text: string) => void;
}

type Step<O> = (input: StepInput, ctx: StepContext) => Promise<O>;

export interface ProjectSteps {
  select: Step<SelectOutput>;
  prep: Step<PrepOutput>;
  implement: Step<ImplementOutput>;
  verify: Step<VerifyOutput>;
  merge: Step<MergeOutput>;
  push: Step<PushOutput>;
  cleanup: Step<void>;
}

export function productionSteps(deps: ProjectStepsDeps, project: ProjectRef): ProjectSteps {
  const env = new StepEnv(deps, project);
  const { config } = project;
  const commitMessage = (input: StepInput) =>
    `Task ${input.task!.id}: ${input.task!.title}\n\nImplemented and verified by DevTeam Runner (execution ${input.executionId}, attempt ${input.attempt}).`;
  const integration = (input: StepInput) => ({
    branch: input.branch!,
    base: env.base,
    mode: config.merge.mode,
    message: `Merge ${input.branch}: task ${input.task!.id} ${input.task!.title}`,
    author: deps.author,
  });

  return {
    async select(input, { signal }) {
      const repoDir = await env.fetched(signal);
      // The list as on the remote's base branch, whatever an earlier task left checked out.
      await resetToBase(repoDir, env.base, signal);
      const list = await env.taskList(repoDir);
      const done = new Set(input.done);
      const picked = selectNextTask(list, done);
      const p = progress(list, done);
      if (picked.task) return { task: { id: picked.task.id, title: picked.task.title }, progress: p };
      if (picked.reason === 'all_done') return { task: null, reason: 'all_done', detail: 'every task is done', progress: p };
      return { task: null, reason: 'blocked', detail: `no task is ready; blocked by ${picked.blockedBy.join(', ') || 'unmet dependencies'}`, progress: p };
    },

    async prep(input, { signal }) {
      // SELECT fetched a moment ago; a remote that moved since is handled by PUSH.
      const repoDir = await env.local(signal);
      const branch = workBranch(input.task!.id);
      await createWorkBranch(repoDir, branch, env.base, signal);
      await env.sandbox(repoDir);
      return { branch };
    },

    implement: (input, ctx) => implementStep(env, input, ctx),
    verify: (input, ctx) => verifyStep(env, input, ctx),

    async merge(input, { signal, log }) {
      const repoDir = await env.local(signal);
      const committed = await commitWork(repoDir, { message: commitMessage(input), author: deps.author, signal });
      if ((await commitsAhead(repoDir, `refs/remotes/origin/${env.base}`, input.branch!, signal)) === 0) {
        // A verified change always leaves a commit: without one it is not in this checkout.
        throw new Error(`task ${input.task!.id}: nothing to merge — the verified change is not in this worker's checkout`);
      }
      const merged = await mergeIntoBase(repoDir, { ...integration(input), signal });
      log.info({ commit: merged.sha, created: committed.created, alreadyMerged: merged.alreadyMerged }, 'merged into the base branch');
      return { commit: merged.sha };
    },

    async push(input, { signal, log }) {
      const repoDir = await env.local(signal);
      const pushed = await pushBase(repoDir, { ...integration(input), url: config.repository.url, credentials: env.credentials(), signal });
      log.info({ commit: pushed.sha, pushed: pushed.pushed, retried: pushed.retried }, 'pushed the base branch');
      return { commit: pushed.sha };
    },

    async cleanup(_input, { signal }) {
      await deps.sandbox?.remove(project.tenant, project.projectId);
      const repoDir = await env.local(signal).catch(() => null);
      if (repoDir) await deleteWorkBranches(repoDir, WORK_BRANCH_PREFIX, env.base, signal);
    },
  };
}
