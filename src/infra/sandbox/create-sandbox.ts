// Picks the sandbox driver named by the configuration (DEVTEAM_SANDBOX).
import type { Logger } from 'pino';
import { agentLocator } from './agent-dirs.js';
import { BwrapSandbox } from './bwrap-sandbox.js';
import { DockerSandbox } from './docker-sandbox.js';
import { HostSandbox } from './host-sandbox.js';
import type { Sandbox, SandboxDriverName } from './sandbox.js';

export interface SandboxSettings {
  driver: SandboxDriverName;
  image: string;
  network: string;
  /** `host:inside[,…]`, mounted read-only (both drivers). */
  binds?: string;
  /** DEVTEAM_AGENT_PATH: `:`-separated directories of agent CLIs, shown read-only with their installs. */
  agentPath?: string;
  /**
   * The service's PATH: its folders holding an agent CLI are shown too, so a CLI the service finds
   * is found inside. Absent: only DEVTEAM_AGENT_PATH.
   */
  servicePath?: string;
  /** Host paths no sandbox may ever show: the data directory and the repository caches. */
  protectedPaths?: string[];
  prefix?: string;
  log?: Logger;
}

/** The configured driver; "none" is the host runner (commands on this host, no isolation or limits). */
export function createSandbox(settings: SandboxSettings): Sandbox {
  const prefix = settings.prefix ?? 'devteam';
  const protectedPaths = settings.protectedPaths ?? [];
  const locate = agentLocator({ agentPaths: splitAgentPath(settings.agentPath), servicePath: settings.servicePath, protectedPaths });
  const agentPaths = () => locate().dirs;
  switch (settings.driver) {
    case 'docker':
      return new DockerSandbox({
        image: settings.image,
        network: settings.network,
        binds: settings.binds ? settings.binds.split(',').map((b) => `${b}:ro`) : [],
        agentPaths,
        protectedPaths,
        prefix,
        log: settings.log,
      });
    case 'local':
      return new BwrapSandbox({ prefix, log: settings.log, binds: settings.binds ? settings.binds.split(',') : [], agentPaths, protectedPaths });
    case 'none':
      // Binds are moot: every host path is visible anyway.
      return new HostSandbox({ prefix, agentPaths, protectedPaths, log: settings.log });
  }
}

/** DEVTEAM_AGENT_PATH as a list. */
export function splitAgentPath(agentPath: string | undefined): string[] {
  return agentPath ? agentPath.split(':').filter(Boolean) : [];
}
