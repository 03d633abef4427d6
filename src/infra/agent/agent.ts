// Running a coding-agent CLI inside a project's sandbox: the shape of one invocation, and the run
// itself with every credential scrubbed from what it printed. Success is judged by the caller (git).
import { mkdir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { ExecResult, OutputStream, ProjectSandbox } from '../sandbox/index.js';
import { AGENT_PRESETS, type AgentPresetName } from '../../project/index.js';
import { realDirectory, writeNewFile } from './workspace-files.js';

export { AGENT_PRESETS, type AgentPresetName };

/** What to run: built by `buildInvocation`, run by `runAgent`. */
export interface AgentInvocation {
  argv: string[];
  /** The agent's whole environment inside the sandbox (the sandbox adds only PATH and LANG). */
  env: Record<string, string>;
  /** Files written under the agent's home before the run; paths are relative to that home. */
  files: Array<{ path: string; content: string }>;
  /** Values removed from everything the agent prints (API keys). */
  secrets: string[];
}

export interface AgentRunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Each output line, already scrubbed of secrets. */
  onLine?: (stream: OutputStream, line: string) => void;
  /** Host path of the invocation's home directory (where `files` are written). */
  homeOnHost: string;
  maxOutputBytes?: number;
}

/** One run of an agent; whether it achieved anything is for git to say, not its exit code. */
export type AgentRun = Pick<ExecResult, 'outcome' | 'exitCode' | 'stdout' | 'stderr' | 'truncated' | 'durationMs'>;

export class AgentError extends Error {
  constructor(
    readonly code: 'agent_misconfigured',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

export const REDACTED_SECRET = '***';

/** Replaces every secret by `***`; longest first so that a key containing another is not half-replaced. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED_SECRET);
  }
  return out;
}

/** The host path of a file of the invocation; refuses paths that would leave the home directory. */
function homeFilePath(homeOnHost: string, relative: string): string {
  const clean = normalize(relative);
  if (relative === '' || isAbsolute(relative) || clean === '..' || clean.startsWith(`..${sep}`)) {
    throw new AgentError('agent_misconfigured', 'an agent file path must be relative to its home directory', { path: relative });
  }
  return join(homeOnHost, clean);
}

export async function runAgent(sandbox: ProjectSandbox, invocation: AgentInvocation, opts: AgentRunOptions): Promise<AgentRun> {
  // The home must exist even without files: agents write their state (sessions, caches) there.
  // Its parents are created by the caller (realDirectory); the agent may have planted symlinks in it.
  await mkdir(dirname(opts.homeOnHost), { recursive: true });
  await realDirectory(dirname(opts.homeOnHost), basename(opts.homeOnHost));
  for (const file of invocation.files) {
    homeFilePath(opts.homeOnHost, file.path);
    await writeNewFile(opts.homeOnHost, file.path, file.content);
  }
  const secrets = invocation.secrets;
  const onLine = opts.onLine;
  const result = await sandbox.exec(invocation.argv, {
    env: invocation.env,
    timeoutMs: opts.timeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(onLine ? { onLine: (stream: OutputStream, line: string) => onLine(stream, scrubSecrets(line, secrets)) } : {}),
    ...(opts.maxOutputBytes !== undefined ? { maxOutputBytes: opts.maxOutputBytes } : {}),
  });
  return {
    outcome: result.outcome,
    exitCode: result.exitCode,
    stdout: scrubSecrets(result.stdout, secrets),
    stderr: scrubSecrets(result.stderr, secrets),
    truncated: result.truncated,
    durationMs: result.durationMs,
  };
}
