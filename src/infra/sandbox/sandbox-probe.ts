// Whether this worker can run projects at all, and with which agents: a throwaway sandbox started
// with exactly the settings runs use, and `command -v` of every tool inside it. Its answer is
// what the admission check and start-up report rely on, so it must be the runs' own view.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTimeout } from '../deadline.js';
import { REQUIRED_TOOLS, OPTIONAL_TOOLS, type Sandbox, type SandboxDriverName } from './sandbox.js';
import { locateTools } from './tool-check.js';

export interface SandboxProbe {
  driver: SandboxDriverName;
  /** A sandbox started and ran a command, and the required tools (git, node) are in it. */
  available: boolean;
  /** Why not, in one sentence; null when available. */
  problem: string | null;
  /** What to install, start or set to make it available; null when available. */
  remedy: string | null;
  /** Where the sandbox's PATH finds each tool (agent CLIs included), null when absent. */
  tools: Record<string, string | null>;
}

/** What the operator does about a driver that cannot start a sandbox. */
export const DRIVER_REMEDY: Record<SandboxDriverName, string> = {
  local: 'install bubblewrap (apt-get install bubblewrap; cgroup limits need root), or set DEVTEAM_SANDBOX=docker or none',
  docker:
    'start a Docker engine this process can reach (DOCKER_HOST) and build the project image named by DEVTEAM_SANDBOX_IMAGE (docker build -f sandbox.Dockerfile), or set DEVTEAM_SANDBOX=local',
  none: 'make git and node reachable on this host’s PATH',
};

const PROBE_TENANT = 'probe';

/** Starts a sandbox on an empty workspace, locates the tools inside it, and removes it. */
export async function probeSandbox(sandbox: Sandbox, opts: { timeoutMs?: number } = {}): Promise<SandboxProbe> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const workspace = await mkdtemp(join(tmpdir(), 'devteam-probe-'));
  const projectId = `p${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const tools = [...REQUIRED_TOOLS, ...OPTIONAL_TOOLS];
  try {
    const { sandbox: project } = await withTimeout(
      sandbox.ensure({ tenant: PROBE_TENANT, projectId, workspace, limits: { cpus: 1, memoryMb: 256 } }),
      timeoutMs,
      'starting a sandbox',
    );
    const found = await withTimeout(
      locateTools((argv) => project.exec(argv, { timeoutMs }), tools),
      timeoutMs,
      'a command in the sandbox',
    );
    const missing = REQUIRED_TOOLS.filter((t) => found[t] === null);
    if (missing.length > 0) {
      return { driver: sandbox.driver, available: false, problem: `the ${sandbox.driver} sandbox has no ${missing.join(' or ')}`, remedy: DRIVER_REMEDY[sandbox.driver], tools: found };
    }
    return { driver: sandbox.driver, available: true, problem: null, remedy: null, tools: found };
  } catch (error) {
    const problem = `the ${sandbox.driver} sandbox cannot start: ${(error as Error).message}`.slice(0, 500);
    return { driver: sandbox.driver, available: false, problem, remedy: DRIVER_REMEDY[sandbox.driver], tools: Object.fromEntries(tools.map((t) => [t, null])) };
  } finally {
    await sandbox.remove(PROBE_TENANT, projectId).catch(() => {});
    await rm(workspace, { recursive: true, force: true });
  }
}
