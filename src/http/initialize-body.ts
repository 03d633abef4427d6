// The body of POST /api/devteam/automation/initialize: what a user may configure for a project.
// Secrets are only ever named (tokenEnv), never sent: the body is stored as the project's config.
import { z } from 'zod';
import { projectIdSchema } from './schemas.js';

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'an environment variable name (A-Z, 0-9, _)');

const gitUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return ['https:', 'http:', 'ssh:', 'file:', 'git:'].includes(url.protocol);
    } catch {
      return false;
    }
  }, 'a git URL (https://, http://, ssh://, git:// or file://)')
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.username === '' && url.password === '';
    } catch {
      return true;
    }
  }, 'must not contain credentials: name a token with credentials.tokenEnv instead');

// Git refuses such names anyway; refusing them here gives a clear 422 instead of a failed clone.
const branchName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._/-]+(?<![./])$/, 'a valid git branch name');

const repoRelativePath = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && !p.split('/').includes('..'), 'a path inside the repository (no leading /, no ..)');

const argv = z.array(z.string().max(4096)).min(1).max(64);

export const AGENT_PRESETS = ['aider', 'claude-code', 'codex', 'gemini', 'opencode', 'command'] as const;

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
        /** The worker environment variable holding this project's model key (instead of the preset's default variable). */
        keyEnv: envName.optional(),
      })
      .refine((a) => a.preset !== 'command' || a.command !== undefined, { message: 'preset "command" needs a command argv', path: ['command'] })
      .refine((a) => a.preset === 'command' || a.command === undefined, { message: 'command is only for preset "command"', path: ['command'] })
      .default({ preset: 'aider', args: [], timeoutSec: 900 }),
    verify: z
      .strictObject({
        commands: z.array(argv).min(1).max(20).default([['npm', 'ci'], ['npm', 'run', 'build']]),
        timeoutSec: z.number().int().min(10).max(24 * 3600).default(600),
      })
      .default({ commands: [['npm', 'ci'], ['npm', 'run', 'build']], timeoutSec: 600 }),
    merge: z
      .strictObject({
        /** ff: rebase onto the base when needed, then fast-forward (linear history); merge: always a merge commit. */
        mode: z.enum(['ff', 'merge']).default('ff'),
      })
      .default({ mode: 'ff' }),
    limits: z
      .strictObject({
        cpus: z.number().positive().max(64).default(1),
        memoryMb: z.number().int().min(64).max(262_144).default(1024),
      })
      .default({ cpus: 1, memoryMb: 1024 }),
  });

export type InitializeBody = z.infer<typeof initializeBodySchema>;
