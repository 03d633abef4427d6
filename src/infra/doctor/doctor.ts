// `devteam doctor`: which tools this runner has on the host and inside the configured sandbox,
// with versions. Required ones missing → not ok (the CLI exits non-zero); optional ones absent
// are reported as absent, not as errors. For DEVTEAM_SANDBOX=none the "sandbox" is the host runner:
// its commands have their own PATH (agent paths, the system's, the runner's node), so they are
// checked through it too — that is where a macOS developer learns node is not found.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { execa } from 'execa';
import { withTimeout } from '../deadline.js';
import { checkTools, OPTIONAL_TOOLS, type Sandbox, type SandboxDriverName, type SandboxHealth, type ToolVersion } from '../sandbox/index.js';

export interface DoctorCheck {
  name: string;
  required: boolean;
  /** Version string when present; null when absent or unreachable. */
  version: string | null;
  /** Where it was found (host path, or the path inside the sandbox); null when absent. */
  path?: string | null;
  /** Why it is absent or unusable, when known. */
  problem?: string;
}

export interface DoctorReport {
  ok: boolean;
  host: DoctorCheck[];
  /** The configured sandbox driver and what its commands find (for "none": the host runner's). */
  sandbox: { driver: SandboxDriverName; checks: DoctorCheck[] };
}

export interface DoctorOptions {
  driver: SandboxDriverName;
  /** The configured sandbox (the host runner for "none"). Must not be started yet: doctor starts one and removes it. */
  sandbox: Sandbox;
  docker?: Dockerode;
  /** DEVTEAM_AGENT_PATH: searched before the host's PATH, as the runs' sandboxes are. */
  agentPaths?: readonly string[];
  timeoutMs?: number;
}

const HOST_REQUIRED = ['git', 'node'] as const;
const HOST_OPTIONAL = ['npm', 'docker', 'bwrap', ...OPTIONAL_TOOLS.filter((t) => t !== 'npm')];

async function runOnHost(argv: readonly string[], timeoutMs: number, agentPaths: readonly string[]): Promise<{ exitCode: number | null; stdout: string }> {
  const [file, ...args] = argv;
  // The agent folders first, as a sandbox's PATH has them: "ok" here means a run finds the same CLI.
  const path = [...agentPaths, process.env.PATH ?? ''].filter(Boolean).join(':');
  const result = await execa(file!, args, { reject: false, timeout: timeoutMs, stdin: 'ignore', env: { PATH: path } });
  return { exitCode: result.exitCode ?? null, stdout: String(result.stdout ?? '') };
}

async function dockerEngine(docker: Dockerode, timeoutMs: number): Promise<DoctorCheck> {
  try {
    const version = await withTimeout(docker.version(), timeoutMs, 'the docker engine');
    return { name: 'docker engine', required: false, version: `Docker Engine ${version.Version} (API ${version.ApiVersion})` };
  } catch (error) {
    return { name: 'docker engine', required: false, version: null, problem: (error as Error).message };
  }
}

function fromTools(tools: ToolVersion[], required: readonly string[]): DoctorCheck[] {
  return tools.map((t) => ({ name: t.name, required: required.includes(t.name), version: t.version, path: t.path }));
}

async function sandboxChecks(sandbox: Sandbox, timeoutMs: number): Promise<DoctorCheck[]> {
  const workspace = await mkdtemp(join(tmpdir(), 'devteam-doctor-'));
  const projectId = `doctor-${process.pid}`;
  try {
    const { sandbox: project } = await withTimeout(
      sandbox.ensure({ tenant: 'doctor', projectId, workspace, limits: { cpus: 1, memoryMb: 256 } }),
      timeoutMs,
      'starting a sandbox',
    );
    const health: SandboxHealth = await project.health();
    return fromTools(health.tools, ['git', 'node']);
  } catch (error) {
    return [{ name: `${sandbox.driver} sandbox`, required: true, version: null, problem: (error as Error).message }];
  } finally {
    await sandbox.remove('doctor', projectId).catch(() => {});
    await rm(workspace, { recursive: true, force: true });
  }
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const docker = options.docker ?? new Dockerode();
  const [hostHealth, engine, inside] = await Promise.all([
    checkTools((argv) => runOnHost(argv, timeoutMs, options.agentPaths ?? []), HOST_REQUIRED, HOST_OPTIONAL),
    dockerEngine(docker, Math.min(timeoutMs, 5_000)),
    sandboxChecks(options.sandbox, timeoutMs),
  ]);
  const host = fromTools(hostHealth.tools, HOST_REQUIRED);
  // The configured driver's own engine is required: docker needs a daemon, local needs bwrap.
  engine.required = options.driver === 'docker';
  host.push(engine);
  const bwrap = host.find((c) => c.name === 'bwrap');
  if (bwrap && options.driver === 'local') bwrap.required = true;
  const sandbox = { driver: options.driver, checks: inside };
  const all = [...host, ...sandbox.checks];
  return { ok: all.every((c) => !c.required || c.version !== null), host, sandbox };
}

export function formatDoctor(report: DoctorReport): string {
  const lines: string[] = [];
  const row = (c: DoctorCheck) => {
    const mark = c.version ? 'ok     ' : c.required ? 'MISSING' : 'absent ';
    const tail = c.version ?? (c.problem ? `(${c.problem})` : c.required ? '(required)' : '(optional)');
    return `  ${mark}  ${c.name.padEnd(14)} ${tail}${c.path ? `  at ${c.path}` : ''}`;
  };
  lines.push('host:');
  lines.push(...report.host.map(row));
  lines.push(
    report.sandbox.driver === 'none'
      ? 'as the host runner (DEVTEAM_SANDBOX=none): no isolation, no limits; agents and builds run on this host and see it all:'
      : `inside the ${report.sandbox.driver} sandbox:`,
  );
  lines.push(...report.sandbox.checks.map(row));
  lines.push(report.ok ? 'all required tools present' : 'required tools missing');
  return `${lines.join('\n')}\n`;
}
