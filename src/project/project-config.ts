// The body of POST /api/devteam/automation/initialize: what a user may configure for a project.
// Secrets are only ever named (tokenEnv, keyEnv), never sent: the body is stored as the project's
// config. The schema holds the rules that do not depend on who asks; initializePolicyIssues adds
// the ones that do (the tenant's secret namespace, the operator's file remote roots).
import { z } from 'zod';
import { AGENT_PRESETS } from './agent-presets.js';
import { branchNameProblem } from './git-ref-name.js';
import { projectIdSchema } from './project-id.js';
import { repoPathProblem } from './repo-path.js';
import { NO_FILE_REMOTES, parseRepositoryUrl, repositoryUrlProblem, type FileRemotePolicy } from './repository-url.js';
import { isTenantSecretName, SECRET_NAME_PATTERN, tenantSecretPrefix } from './secret-ref.js';
import { WEBHOOK_EVENTS } from './webhook-events.js';
import { webhookUrlProblem } from './webhook-url.js';

/** One refused field of a request, as the edge reports it. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** A rule of src/project (a function returning why a value is refused, or null) as a zod check. */
const ruled = (problem: (value: string) => string | null) =>
  z.string().superRefine((value, ctx) => {
    const why = problem(value);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  });

const envName = z.string().regex(SECRET_NAME_PATTERN, 'an environment variable name (A-Z, 0-9, _)');

// Syntax only here; whether a file remote is allowed depends on the operator (initializePolicyIssues).
const gitUrl = ruled((value) => {
  const parsed = parseRepositoryUrl(value);
  return parsed.ok ? null : parsed.problem;
});

// Git refuses such names anyway; refusing them here gives a clear 422 instead of a failed clone.
const branchName = ruled(branchNameProblem);

const repoRelativePath = ruled(repoPathProblem);

/** The most tasks of one project that may run at once (`parallelism`). */
export const MAX_PARALLELISM = 8;

const argv = z.array(z.string().max(4096)).min(1).max(64);

/**
 * Seconds without a line of output and without a file change before a command is stopped as
 * stalled (decision 0026). 5 s at least: a tree scan decides, and shorter would kill a command
 * that is only thinking between two lines.
 */
const stallSec = z.number().int().min(5).max(24 * 3600);
export const DEFAULT_STALL_SEC = 300;

/** Limits of a whole run (an execution), counted over every attempt of every task on every worker. */
const budgetSchema = z
  .strictObject({
    /** US dollars, as the agent reports its cost. */
    maxCostUsd: z.number().positive().max(100_000).optional(),
    /** Input plus output tokens, as the agent reports them. */
    maxTokens: z.number().int().positive().max(10_000_000_000).optional(),
    /** Minutes agents ran (not the builds, not time paused). */
    maxMinutes: z.number().positive().max(7 * 24 * 60).optional(),
  })
  .optional();


export const initializeBodySchema = z
  .strictObject({
    projectId: projectIdSchema,
    repository: z.strictObject({
      url: gitUrl,
      branch: branchName.default('main'),
      credentials: z.strictObject({ tokenEnv: envName, username: z.string().max(200).optional() }).optional(),
    }),
    tasks: z.strictObject({ path: repoRelativePath }).optional(),
    agent: z
      .strictObject({
        preset: z.enum(AGENT_PRESETS).default('aider'),
        model: z.string().min(1).max(200).optional(),
        args: z.array(z.string().max(4096)).max(64).default([]),
        command: argv.optional(),
        timeoutSec: z.number().int().min(10).max(24 * 3600).default(900),
        /** No output and no file change for this long: the attempt is stopped as `stalled` (wall clock is timeoutSec). */
        stallSec: stallSec.default(DEFAULT_STALL_SEC),
        /** US dollars one task may cost over all its attempts, as the agent reports them: over it, `budget_exceeded`. */
        maxCostUsdPerTask: z.number().positive().max(100_000).optional(),
        /** The worker environment variable holding this project's model key (instead of the preset's default variable). */
        keyEnv: envName.optional(),
      })
      .refine((a) => a.preset !== 'command' || a.command !== undefined, { message: 'preset "command" needs a command argv', path: ['command'] })
      .refine((a) => a.preset === 'command' || a.command === undefined, { message: 'command is only for preset "command"', path: ['command'] })
      .default({ preset: 'aider', args: [], timeoutSec: 900, stallSec: DEFAULT_STALL_SEC }),
    verify: z
      .strictObject({
        commands: z.array(argv).min(1).max(20).default([['npm', 'ci'], ['npm', 'run', 'build']]),
        timeoutSec: z.number().int().min(10).max(24 * 3600).default(600),
        /** A build command with no output and no file change for this long is stopped as stalled. */
        stallSec: stallSec.default(DEFAULT_STALL_SEC),
      })
      .default({ commands: [['npm', 'ci'], ['npm', 'run', 'build']], timeoutSec: 600, stallSec: DEFAULT_STALL_SEC }),
    /** Limits of the whole run; crossing one stops the agent at once: `budget_exceeded`. */
    budget: budgetSchema,
    merge: z
      .strictObject({
        /** ff: rebase onto the base when needed, then fast-forward (linear history); merge: always a merge commit. */
        mode: z.enum(['ff', 'merge']).default('ff'),
      })
      .default({ mode: 'ff' }),
    /**
     * Which tasks a new execution runs. continue: not those already merged — a commit on the base
     * branch carries their `DevTeam-Task: <id>` trailer — they are reported skipped; all: every task.
     */
    restart: z.enum(['continue', 'all']).default('continue'),
    /**
     * Webhooks: a signed JSON POST to `url` for each of `events` (all when left out). The URL's
     * destination is checked against the operator's policy in initializePolicyIssues.
     */
    notify: z
      .strictObject({
        url: z.string().max(4096),
        /** The worker environment variable (in the tenant's secret namespace) holding the HMAC key. */
        secretEnv: envName,
        events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length).optional(),
      })
      .optional(),
    /**
     * How many independent tasks run at the same time, each in its own git worktree and sandbox
     * (decision 0028); 1 runs the tasks one after another. `limits` are the project's whole: each
     * of the k lanes gets cpus / k and memoryMb / k. Absent: 1.
     */
    parallelism: z.number().int().min(1).max(MAX_PARALLELISM).optional(),
    /** Per project; what is left out comes from the operator's DEVTEAM_LIMIT_CPUS / DEVTEAM_LIMIT_MEMORY_MB. */
    limits: z
      .strictObject({
        cpus: z.number().positive().max(64).optional(),
        memoryMb: z.number().int().min(64).max(262_144).optional(),
      })
      .default({}),
  });

export type InitializeBody = z.infer<typeof initializeBodySchema>;

/** The smallest memory limit a lane may get: memoryMb / parallelism must not fall below it. */
export const MIN_LANE_MEMORY_MB = 64;

/**
 * The sandbox limits of one of the project's k lanes: the project's limits split evenly, so the
 * project as a whole never uses more than it was given (k = 1: the limits unchanged).
 */
export function laneLimits(limits: { cpus: number; memoryMb: number }, parallelism: number): { cpus: number; memoryMb: number } {
  if (parallelism <= 1) return limits;
  return { cpus: limits.cpus / parallelism, memoryMb: Math.max(MIN_LANE_MEMORY_MB, Math.floor(limits.memoryMb / parallelism)) };
}

export interface InitializePolicy {
  /** The authenticated caller: secret references must be in its namespace. */
  tenant: string;
  /** Where file remotes may live (none unless the operator set DEVTEAM_FILE_REMOTE_ROOTS). */
  fileRemotes?: FileRemotePolicy;
  /** DEVTEAM_WEBHOOK_ALLOW_PRIVATE=1: webhooks may go to loopback and private networks. */
  webhookAllowPrivate?: boolean;
}

/** What this tenant may not configure, field by field (empty: the body is allowed). */
export function initializePolicyIssues(body: InitializeBody, policy: InitializePolicy): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const urlProblem = repositoryUrlProblem(body.repository.url, policy.fileRemotes ?? NO_FILE_REMOTES);
  if (urlProblem) issues.push({ field: 'repository.url', message: urlProblem });
  const secrets: Array<[string, string | undefined]> = [
    ['repository.credentials.tokenEnv', body.repository.credentials?.tokenEnv],
    ['agent.keyEnv', body.agent.keyEnv],
    ['notify.secretEnv', body.notify?.secretEnv],
  ];
  for (const [field, name] of secrets) {
    if (name !== undefined && !isTenantSecretName(policy.tenant, name)) {
      issues.push({ field, message: `must name a variable of your secret namespace, ${tenantSecretPrefix(policy.tenant)}<NAME> (tenant "${policy.tenant}")` });
    }
  }
  if (body.notify) {
    const hookProblem = webhookUrlProblem(body.notify.url, { allowPrivate: policy.webhookAllowPrivate ?? false });
    if (hookProblem) issues.push({ field: 'notify.url', message: hookProblem });
  }
  return issues;
}
