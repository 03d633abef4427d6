// What every production step of one project shares: its configuration, the checkout in the
// repository cache, its sandbox, the task list, credentials read from the worker's environment.
import { existsSync } from 'node:fs';
import type { ArtifactsStore } from '../infra/db/index.js';
import { readTenantSecret, type InitializeBody, type PromptTemplates } from '../project/index.js';
import { createWorkBranch, currentBranch, projectPaths, removeStaleLocks, type RepoCache } from '../infra/repo/index.js';
import type { ProjectSandbox, Sandbox } from '../infra/sandbox/index.js';
import { loadTaskList, type Task, type TaskList } from '../infra/tasks/index.js';

export interface ProjectStepsDeps {
  repos: RepoCache;
  sandbox: Sandbox;
  artifacts: ArtifactsStore;
  templates: () => Promise<PromptTemplates>;
  /** Where credentials named by the project (tokenEnv, model keys) are read: the worker's environment. */
  env: Record<string, string | undefined>;
  author: { name: string; email: string };
}

export interface ProjectRef {
  tenant: string;
  projectId: string;
  config: InitializeBody;
}

export const WORK_BRANCH_PREFIX = 'devteam/';
export function workBranch(taskId: string): string {
  return `${WORK_BRANCH_PREFIX}${taskId}`;
}

export class StepEnv {
  readonly base: string;

  constructor(
    readonly deps: ProjectStepsDeps,
    readonly project: ProjectRef,
  ) {
    this.base = project.config.repository.branch;
  }

  get config(): InitializeBody {
    return this.project.config;
  }

  credentials(): { token: string; username?: string } | undefined {
    const name = this.config.repository.credentials?.tokenEnv;
    if (!name) return undefined;
    // Only inside the tenant's namespace (decision 0011), whatever the stored configuration says.
    const token = readTenantSecret(this.deps.env, this.project.tenant, name);
    if (!token) throw new Error(`${name} is not set in the worker's environment: the repository credentials cannot be read`);
    return { token, username: this.config.repository.credentials?.username };
  }

  /** Clones or fetches: the remote's current state (SELECT, PREP). */
  async fetched(signal: AbortSignal): Promise<string> {
    const result = await this.deps.repos.ensure({
      tenant: this.project.tenant,
      projectId: this.project.projectId,
      url: this.config.repository.url,
      branch: this.base,
      credentials: this.credentials(),
      signal,
    });
    return result.repoDir;
  }

  /** The checkout as it is, without a network round trip; cloned only when this host has none. */
  async local(signal: AbortSignal): Promise<string> {
    const { repoDir, gitDir } = projectPaths(this.deps.repos.root, this.project.tenant, this.project.projectId);
    if (!existsSync(gitDir) || !existsSync(repoDir)) return this.fetched(signal);
    // A git killed with an earlier owner (or step) of this project left its locks behind.
    await removeStaleLocks(gitDir);
    return repoDir;
  }

  /**
   * The checkout on the task's work branch. When this host has no such branch (the task was
   * prepared by a worker that died), it is created again: the caller re-does the work on it.
   */
  async onWorkBranch(branch: string, signal: AbortSignal): Promise<{ repoDir: string; recreated: boolean }> {
    const repoDir = await this.local(signal);
    if ((await currentBranch(repoDir, signal).catch(() => '')) === branch) return { repoDir, recreated: false };
    await this.fetched(signal);
    await createWorkBranch(repoDir, branch, this.base, signal);
    return { repoDir, recreated: true };
  }

  async sandbox(repoDir: string): Promise<ProjectSandbox> {
    const { sandbox } = await this.deps.sandbox.ensure({
      tenant: this.project.tenant,
      projectId: this.project.projectId,
      workspace: repoDir,
      limits: this.config.limits,
    });
    return sandbox;
  }

  async taskList(repoDir: string): Promise<TaskList> {
    return (await loadTaskList({ repoDir, path: this.config.tasks?.path })).list;
  }

  async task(repoDir: string, id: string): Promise<{ task: Task; list: TaskList }> {
    const list = await this.taskList(repoDir);
    const task = list.tasks.find((t) => t.id === id);
    if (!task) throw new Error(`task ${id} is no longer in the task list`);
    return { task, list };
  }
}
