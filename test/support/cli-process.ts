// Runs the compiled `devteam` CLI as a real child process and reads its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from './services.js';

export const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  stderr: string[];
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** `wrapper`: an argv the CLI runs under (e.g. `unshare …`), which must exec what follows it. */
export function startCli(args: string[], env: Record<string, string | undefined>, wrapper: string[] = []): CliProcess {
  const [file, ...rest] = [...wrapper, process.execPath, CLI, ...args];
  const child = spawn(file!, rest, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    lines,
    stderr,
    exited,
    waitForLine(match, timeoutMs = 15_000) {
      return eventually(async () => lines.find(match), timeoutMs, `a log line (stderr: ${stderr.join('').slice(-500)})`);
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Starts `devteam <role>` and waits for the "started" line; returns the process and its HTTP port. */
export async function startService(args: string[], env: Record<string, string | undefined>, wrapper: string[] = []): Promise<{ proc: CliProcess; port: number | null }> {
  const proc = startCli(args, { PORT: '0', ...env }, wrapper);
  const started = await Promise.race([
    proc.waitForLine((l) => l.msg === 'devteam runner started', 30_000),
    proc.exited.then((code) => {
      throw new Error(`devteam ${args.join(' ')} exited with ${code}: ${proc.stderr.join('')}`);
    }),
  ]);
  return { proc, port: (started.port as number | null) ?? null };
}
