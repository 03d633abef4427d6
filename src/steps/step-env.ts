// What every production step of one project shares: its configuration, the checkout in the
// repository cache, its sandbox, the task list, credentials read from the worker's environment.
// One StepEnv lives for one drive of one project by one worker: the checkout and the sandbox
// handle are resolved once in it, and again only when a step finds them gone.
import { existsSync } from 'node:fs';
import type { Admission, AdmissionKind } from '../infra/admission/index.js';
import type { ArtifactsStore, UsageStore } from '../infra/db/index.js';
import { laneLimits, readTenantSecret, type AgentUsage, type InitializeBody, type PromptTemplates, type Task, type TaskList } from '../project/index.js';
import {
  attemptRef,
  checkoutAttempt,
  createWorkBranch,
  currentBranch,
  ensureLaneWorkTree,
  fetchAttempt,
  lanePaths,
  projectPaths,
  removeStaleLocks,
  resolveRef,
  startLaneBranch,
  type RemoteCall,
  type RepoCache,
} from '../infra/repo/index.js';
import type { StepInput } from '../machines/index.js';
import { SandboxError, type ProjectSandbox, type Sandbox } from '../infra/sandbox/index.js';
import type { Logger } from '../infra/log.js';
import type { SecretScanner } from '../infra/secrets/index.js';
import { loadTaskList } from '../infra/tasks/index.js';

export interface ProjectStepsDeps {
  repos: RepoCache;
  sandbox: Sandbox;
  /** Where attempts' outputs go; what is put is redacted by `secrets` first (see StepEnv.artifact). */
  artifacts: Pick<ArtifactsStore, 'put'>;
  /** Each agent run's reported usage (decision 0026): what budgets are checked against, over every worker. */
  usage: UsageStore;
  /** Adds a run's newly reported usage to the worker's counters (devteam_agent_tokens_total, …). */
  countUsage?: (delta: AgentUsage) => void;
  /** Finds secrets in a change before MERGE, and in artifacts before they are stored. */
  secrets: SecretScanner;
  templates: () => Promise<PromptTemplates>;
  /** Where credentials named by the project (tokenEnv, model keys) are read: the worker's environment. */
  env: Record<string, string | undefined>;
  author: { name: string; email: string };
  /** The operator's sandbox limits (DEVTEAM_LIMIT_*), for what a project's `limits` leaves out. */
  defaultLimits: { cpus: number; memoryMb: number };
  /** This worker's slots for builds and sandbox starts, shared by all its projects; absent → unbounded. */
  admission?: Admission;
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
  /** The checkout, known present with no stale locks: resolved once per drive (see forget). */
  private checkout: string | undefined;
  /** The sandbox handle per work tree (the checkout's; each lane's), ensured once per drive. */
  private readonly boxes = new Map<string, ProjectSandbox>();
  /**
   * The last step this drive finished. A step right after another of this drive finds the checkout as
   * that one left it; after a takeover or a restart (a new drive) it may be another worker's, or this
   * worker's from long ago (its origin refs stale): then PREP fetches, IMPLEMENT rebuilds the work
   * branch, MERGE and PUSH ask the remote whether an earlier owner already pushed the task.
   * (Parallelism 1 only: lanes keep their own work trees, decision 0028.)
   */
  private finished: { step: string; taskId: string | null; attempt: number } | null = null;

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
    // The cache checked the checkout and cleared stale locks itself.
    this.checkout = result.repoDir;
    return result.repoDir;
  }

  /** The checkout as it is, without a network round trip; cloned only when this host has none. */
  async local(signal: AbortSignal): Promise<string> {
    if (this.checkout) return this.checkout;
    const { repoDir, gitDir } = projectPaths(this.deps.repos.root, this.project.tenant, this.project.projectId);
    if (!existsSync(gitDir) || !existsSync(repoDir)) return this.fetched(signal);
    // A git killed with an earlier owner of this project (or a step of an earlier drive) left its locks behind.
    await removeStaleLocks(gitDir);
    this.checkout = repoDir;
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

  /** Records that this drive finished `step` (a step function's name) for the input's task and attempt. */
  finishedStep(input: { task: { id: string } | null; attempt: number }, step: string): void {
    this.finished = { step, taskId: input.task?.id ?? null, attempt: input.attempt };
  }

  /** Whether the last step this drive finished was `step` of the input's task and attempt. */
  justFinished(input: { task: { id: string } | null; attempt: number }, step: string): boolean {
    const f = this.finished;
    return f !== null && f.step === step && f.taskId === (input.task?.id ?? null) && f.attempt === input.attempt;
  }

  /** The name of the last step this drive finished, whatever its task. */
  lastStep(): string | null {
    return this.finished?.step ?? null;
  }

  /** Whether the last step this drive finished worked on task `taskId` (PREP, an earlier attempt). */
  drove(taskId: string): boolean {
    return this.finished?.taskId === taskId;
  }

  /** What a network git call of this project needs: the remote and the per-call credentials (as PUSH). */
  remote(signal: AbortSignal): RemoteCall {
    return { url: this.config.repository.url, credentials: this.credentials(), signal };
  }

  /**
   * The commit attempt `attempt` of the task left (decision 0025): this worker's own ref, or else the
   * one IMPLEMENT pushed to the remote (another worker made it); null when neither has it.
   */
  async attemptCommit(repoDir: string, executionId: string, taskId: string, attempt: number, signal: AbortSignal): Promise<string | null> {
    const ref = attemptRef(executionId, taskId, attempt);
    return (await resolveRef(repoDir, ref, signal)) ?? (await fetchAttempt(repoDir, ref, this.remote(signal)));
  }

  /**
   * The checkout on the task's work branch with the work tree exactly as the current attempt left it,
   * on whichever worker ran it: what VERIFY builds and MERGE commits.
   */
  async onAttempt(input: { executionId: string; task: { id: string } | null; attempt: number; branch: string | null }, signal: AbortSignal): Promise<string> {
    const repoDir = await this.local(signal);
    const taskId = input.task!.id;
    const commit = await this.attemptCommit(repoDir, input.executionId, taskId, input.attempt, signal);
    if (!commit) throw new Error(`the change of attempt ${input.attempt} of task ${taskId} is neither on this worker nor on the remote (${attemptRef(input.executionId, taskId, input.attempt)})`);
    await checkoutAttempt(repoDir, input.branch!, commit, signal);
    return repoDir;
  }

  /**
   * Runs `work` in one of this worker's `kind` slots, queued fairly with every other project's
   * (decision 0027); `onQueued` hears how many are ahead when it has to wait.
   */
  admitted<T>(kind: AdmissionKind, call: { signal: AbortSignal; log?: Logger; onQueued?: (ahead: number) => void }, work: () => Promise<T>): Promise<T> {
    const admission = this.deps.admission;
    return admission ? admission.run(kind, { tenant: this.project.tenant, ...call }, work) : work();
  }

  /**
   * Where a task's step works: the checkout on its work branch, or — with parallelism > 1 — its
   * lane's worktree (decision 0028). `recreated`: the work branch was not there and was made again.
   */
  async workTree(input: StepInput, signal: AbortSignal): Promise<{ repoDir: string; recreated: boolean }> {
    return input.lane === undefined ? this.onWorkBranch(input.branch!, signal) : this.onLaneBranch(input.lane, input.branch!, signal);
  }

  /** Lane `lane`'s worktree of the project's clone, created when missing. */
  async laneDir(lane: number, signal: AbortSignal): Promise<string> {
    await this.local(signal);
    const paths = lanePaths(this.deps.repos.root, this.project.tenant, this.project.projectId, lane);
    await ensureLaneWorkTree(paths, this.base, signal);
    return paths.repoDir;
  }

  /** The lane on the task's work branch; made again from the base when it is not (the caller re-does the work). */
  async onLaneBranch(lane: number, branch: string, signal: AbortSignal): Promise<{ repoDir: string; recreated: boolean }> {
    const repoDir = await this.laneDir(lane, signal);
    if ((await currentBranch(repoDir, signal).catch(() => '')) === branch) return { repoDir, recreated: false };
    await this.fetched(signal);
    await startLaneBranch(repoDir, branch, this.base, signal);
    return { repoDir, recreated: true };
  }

  /**
   * The sandbox of a work tree, started or reused by the driver once per drive: the project's, or a
   * lane's with its share of the project's limits (cpus / k, memoryMb / k).
   */
  async sandbox(repoDir: string, lane?: number, signal?: AbortSignal): Promise<ProjectSandbox> {
    const known = this.boxes.get(repoDir);
    if (known) return known;
    const limits = {
      cpus: this.config.limits.cpus ?? this.deps.defaultLimits.cpus,
      memoryMb: this.config.limits.memoryMb ?? this.deps.defaultLimits.memoryMb,
    };
    const ensure = () => this.deps.sandbox.ensure({
      tenant: this.project.tenant,
      projectId: this.project.projectId,
      workspace: repoDir,
      limits: lane === undefined ? limits : laneLimits(limits, this.config.parallelism ?? 1),
      ...(lane === undefined ? {} : { lane }),
    });
    // A start waits for one of the worker's sandbox-start slots (decision 0027).
    const { sandbox } = await this.admitted('sandbox_start', { signal: signal ?? new AbortController().signal }, ensure);
    this.boxes.set(repoDir, sandbox);
    return sandbox;
  }

  /**
   * Runs `use` with the project's sandbox; when the cached handle's sandbox is gone (reaped as
   * idle between steps, removed by another owner), ensures a new one and runs `use` once more. The
   * reapers never take a sandbox with a command running, so "gone" means the command never started.
   */
  async inSandbox<T extends { outcome: string }>(repoDir: string, signal: AbortSignal, use: (box: ProjectSandbox) => Promise<T>, lane?: number): Promise<T> {
    const cached = this.boxes.has(repoDir);
    try {
      const result = await use(await this.sandbox(repoDir, lane, signal));
      // The local and host drivers answer "cancelled" for a command given to a removed sandbox.
      if (!cached || signal.aborted || result.outcome !== 'cancelled') return result;
    } catch (error) {
      // The docker driver: the container is no more (404).
      if (!cached || signal.aborted || !sandboxGone(error)) throw error;
    }
    this.boxes.delete(repoDir);
    return use(await this.sandbox(repoDir, lane, signal));
  }

  /**
   * Drops what was resolved: after a step that failed or was cancelled (a killed git may have left
   * locks, the checkout or sandbox may be what failed) and after cleanup removed the sandbox.
   */
  forget(): void {
    this.finished = null;
    this.checkout = undefined;
    this.boxes.clear();
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

function sandboxGone(error: unknown): boolean {
  return error instanceof SandboxError && error.details.status === 404;
}
