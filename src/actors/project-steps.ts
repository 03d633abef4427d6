// The production steps of the project machine: SELECT reads the task list from the repository,
// PREP clones/fetches and creates the task's work branch and the project's sandbox, IMPLEMENT
// runs the `command` agent preset in the sandbox, VERIFY runs the verify commands there.
// MERGE and PUSH (and the other agent presets) come with the pipeline work: until then they fail
// honestly, never with a faked success.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InitializeBody } from '../http/index.js';
import type { Logger } from '../infra/log.js';
import type { ImplementOutput, MergeOutput, PrepOutput, PushOutput, SelectOutput, StepInput, VerifyOutput } from '../machines/index.js';
import { changedFiles, createWorkBranch, deleteWorkBranches, type RepoCache } from '../infra/repo/index.js';
import { WORKSPACE, type ProjectSandbox, type Sandbox } from '../infra/sandbox/index.js';
import { loadTaskList, progress, selectNextTask, type Task } from '../infra/tasks/index.js';
import { renderPrompt } from './prompt.js';

export interface StepContext {
  signal: AbortSignal;
  log: Logger;
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

export interface ProjectStepsDeps {
  repos: RepoCache;
  sandbox: Sandbox | null;
  /** Where credentials named by the project (tokenEnv) are read: the worker's environment. */
  env: Record<string, string | undefined>;
}

export interface ProjectRef {
  tenant: string;
  projectId: string;
  config: InitializeBody;
}

export const WORK_BRANCH_PREFIX = 'devteam/';
/** Bytes of a failing command's output fed back to the next attempt (the end is kept). */
const FEEDBACK_BYTES = 16 * 1024;

export function workBranch(taskId: string): string {
  return `${WORK_BRANCH_PREFIX}${taskId}`;
}

export function productionSteps(deps: ProjectStepsDeps, project: ProjectRef): ProjectSteps {
  const { config } = project;
  const base = config.repository.branch;

  function credentials() {
    const name = config.repository.credentials?.tokenEnv;
    if (!name) return undefined;
    const token = deps.env[name];
    if (!token) throw new Error(`${name} is not set in the worker's environment: the repository credentials cannot be read`);
    return { token, username: config.repository.credentials?.username };
  }

  async function checkout(signal: AbortSignal): Promise<string> {
    const result = await deps.repos.ensure({
      tenant: project.tenant,
      projectId: project.projectId,
      url: config.repository.url,
      branch: base,
      credentials: credentials(),
      signal,
    });
    return result.repoDir;
  }

  async function sandbox(repoDir: string): Promise<ProjectSandbox> {
    if (!deps.sandbox) throw new Error('DEVTEAM_SANDBOX=none has no command runner yet: use the local or docker sandbox');
    const { sandbox: s } = await deps.sandbox.ensure({ tenant: project.tenant, projectId: project.projectId, workspace: repoDir, limits: config.limits });
    return s;
  }

  async function taskOf(repoDir: string, id: string): Promise<Task> {
    const { list } = await loadTaskList({ repoDir, path: config.tasks?.path });
    const task = list.tasks.find((t) => t.id === id);
    if (!task) throw new Error(`task ${id} is no longer in the task list`);
    return task;
  }

  return {
    async select(input, { signal }) {
      const repoDir = await checkout(signal);
      const { list } = await loadTaskList({ repoDir, path: config.tasks?.path });
      const done = new Set(input.done);
      const picked = selectNextTask(list, done);
      const p = progress(list, done);
      if (picked.task) return { task: { id: picked.task.id, title: picked.task.title }, progress: p };
      if (picked.reason === 'all_done') return { task: null, reason: 'all_done', detail: 'every task is done', progress: p };
      return { task: null, reason: 'blocked', detail: `no task is ready; blocked by ${picked.blockedBy.join(', ') || 'unmet dependencies'}`, progress: p };
    },

    async prep(input, { signal }) {
      const repoDir = await checkout(signal);
      const branch = workBranch(input.task!.id);
      await createWorkBranch(repoDir, branch, base, signal);
      await sandbox(repoDir);
      return { branch };
    },

    async implement(input, { signal, log }) {
      const repoDir = await checkout(signal);
      const agent = config.agent;
      if (agent.preset !== 'command') {
        throw new Error(`agent preset "${agent.preset}" is not available yet; use preset "command" until the agent adapters land`);
      }
      const task = await taskOf(repoDir, input.task!.id);
      // Inside .git, so it is never committed; the sandbox sees it under the workspace.
      const promptRel = join('.git', 'devteam', `prompt-${task.id}-${input.attempt}.md`);
      await mkdir(join(repoDir, '.git', 'devteam'), { recursive: true });
      await writeFile(join(repoDir, promptRel), renderPrompt({ task, attempt: input.attempt, feedback: input.feedback }));
      const argv = agent.command!.map((arg) => arg.replaceAll('{promptFile}', `${WORKSPACE}/${promptRel}`));
      const run = await (await sandbox(repoDir)).exec(argv, {
        timeoutMs: agent.timeoutSec * 1000,
        signal,
        onLine: (stream, line) => log.debug({ stream, line }, 'agent output'),
      });
      if (run.outcome === 'cancelled') throw signal.reason ?? new Error('cancelled');
      if (run.outcome !== 'completed' || run.exitCode !== 0) {
        const why = run.outcome === 'completed' ? `exited ${run.exitCode}` : run.outcome === 'timeout' ? `timed out after ${agent.timeoutSec} s` : 'was killed: memory limit';
        throw new Error(`agent ${argv[0]} ${why}: ${tail(run.stderr || run.stdout, 2_000)}`);
      }
      const files = await changedFiles(repoDir, signal);
      log.info({ files: files.length, durationMs: run.durationMs }, 'agent finished');
      return { changed: files.length > 0, files };
    },

    async verify(_input, { signal, log }) {
      const repoDir = await checkout(signal);
      const box = await sandbox(repoDir);
      for (const command of config.verify.commands) {
        const lines: string[] = [];
        const run = await box.exec(command, {
          timeoutMs: config.verify.timeoutSec * 1000,
          signal,
          onLine: (_stream, line) => lines.push(line),
        });
        if (run.outcome === 'cancelled') throw signal.reason ?? new Error('cancelled');
        if (run.outcome !== 'completed' || run.exitCode !== 0) {
          const why = run.outcome === 'completed' ? `exited ${run.exitCode}` : run.outcome;
          log.info({ command: command[0], outcome: run.outcome, exitCode: run.exitCode }, 'verification failed');
          return { ok: false, output: `$ ${command.join(' ')}  (${why})\n${tail(lines.join('\n'), FEEDBACK_BYTES)}` };
        }
      }
      return { ok: true, output: '' };
    },

    async merge() {
      throw new Error('merge into the base branch is not implemented yet: the verified change stays on its work branch');
    },

    async push() {
      throw new Error('push is not implemented yet');
    },

    async cleanup(_input, { signal }) {
      await deps.sandbox?.remove(project.tenant, project.projectId);
      const repoDir = await checkout(signal).catch(() => null);
      if (repoDir) await deleteWorkBranches(repoDir, WORK_BRANCH_PREFIX, base, signal);
    },
  };
}

/** The last `bytes` of text, cut at a line start when possible. */
function tail(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  const cut = text.slice(-bytes);
  const nl = cut.indexOf('\n');
  return `…\n${nl >= 0 && nl < cut.length - 1 ? cut.slice(nl + 1) : cut}`;
}
