// Public surface of the per-project sandbox: the interface, its drivers (docker, local, the host runner) and the tool check.
export {
  OPTIONAL_TOOLS,
  REQUIRED_TOOLS,
  SANDBOX_PATH,
  SandboxError,
  WORKSPACE,
  sandboxName,
} from './sandbox.js';
export type {
  EnsureResult,
  ExecOptions,
  ExecResult,
  OutputStream,
  ProjectSandbox,
  Sandbox,
  SandboxDriverName,
  SandboxHealth,
  SandboxLimits,
  SandboxSpec,
  ToolVersion,
} from './sandbox.js';
export { DEFAULT_MAX_OUTPUT_BYTES, OutputCollector } from './output-collector.js';
export { checkTools, locateTools, parseToolCheck, toolCheckArgv } from './tool-check.js';
export type { RunForToolCheck } from './tool-check.js';
export { BwrapSandbox } from './bwrap-sandbox.js';
export type { BwrapSandboxOptions } from './bwrap-sandbox.js';
export { HostSandbox } from './host-sandbox.js';
export type { HostSandboxOptions } from './host-sandbox.js';
export { DockerSandbox } from './docker-sandbox.js';
export type { DockerSandboxOptions } from './docker-sandbox.js';
export { parseOomKills } from './docker-exec.js';
export { createSandbox, splitAgentPath, type SandboxSettings } from './create-sandbox.js';
export { agentLocator, locateAgents, type AgentCliPaths, type AgentLocation, type AgentSearch } from './agent-dirs.js';
export { DRIVER_REMEDY, probeSandbox, type SandboxProbe } from './sandbox-probe.js';
