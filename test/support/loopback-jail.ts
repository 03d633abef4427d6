// A sandbox whose commands run in a fresh network namespace with only loopback, under strace (see
// loopback-jail.mjs): nothing they attempt can leave this host, and every connect is recorded.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ProjectSandbox } from '../../src/infra/sandbox/index.js';

const JAIL = join(import.meta.dirname, 'loopback-jail.mjs');

export interface LoopbackJail {
  /** The model server's unix socket, reachable inside as 127.0.0.1:port. */
  socketPath: string;
  port: number;
  /** Where strace writes the connects of the command's whole process tree. */
  traceFile: string;
}

/** Throws unless this process may create network namespaces and trace its children (root, unshare, strace, ip). */
export async function checkLoopbackJail(): Promise<void> {
  await promisify(execFile)('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up && strace -qq -e trace=connect -o /dev/null -- true']);
}

/** `sandbox`, with every command run through the jail. */
export function inLoopbackJail(sandbox: ProjectSandbox, jail: LoopbackJail): ProjectSandbox {
  const prefix = ['unshare', '-n', '--', process.execPath, JAIL, jail.socketPath, String(jail.port), jail.traceFile, '--'];
  return {
    driver: sandbox.driver,
    name: sandbox.name,
    tenant: sandbox.tenant,
    projectId: sandbox.projectId,
    workspacePath: sandbox.workspacePath,
    exec: (argv, options) => sandbox.exec([...prefix, ...argv], options),
    health: () => sandbox.health(),
  };
}
