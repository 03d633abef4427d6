// One command run in a project's container via Docker exec: streamed output, exit code, and
// killing everything it started on timeout/cancel (Docker has no "kill exec" API).
import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import { Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import { OutputCollector } from './output-collector.js';
import { SandboxError, WORKSPACE, type ExecOptions, type ExecResult } from './sandbox.js';

/**
 * The container's last-activity marker: the wrapper rewrites it (a redirection, no process) when a
 * command starts and when it ends. Its mtime is what any process of this runner reads to tell a
 * container in recent use from one a dead process left (see DockerSandbox.reapIdle).
 */
export const ACTIVITY_FILE = '/tmp/.devteam-activity';
const TOUCH = `{ : > ${ACTIVITY_FILE}; } 2>/dev/null`;
/**
 * Every Docker exec is its own session and process group, so the wrapper's pid is the group to kill.
 * The wrapper records it in a pid file ($0) and stays the parent (no `exec`) only to delete that file.
 */
const WRAPPER = `echo $$ > "$0"; ${TOUCH}; "$@"; rc=$?; rm -f "$0"; ${TOUCH}; exit $rc`;
/** Waits briefly for the pid file, since a cancel can arrive before the wrapper has written it.
 * `kill -9 -PGID`: dash's kill accepts neither `--` nor `-s KILL` before a negative pid. */
const KILLER = 'i=0; while [ $i -lt 20 ]; do if [ -s "$0" ]; then kill -9 -"$(cat "$0")"; rm -f "$0"; exit 0; fi; sleep 0.1; i=$((i+1)); done';
/** cgroup v1 (memory.oom_control) or v2 (memory.events): both have an "oom_kill N" line. */
const OOM_PROBE = ['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events 2>/dev/null; true'];
const SIGKILL_EXIT = 137;
/** How long to wait for the output stream to close after the kill before giving up on it. */
const DRAIN_AFTER_KILL_MS = 5_000;

export type StopReason = 'timeout' | 'cancelled';

/** A running exec, as the driver tracks it (for remove and the idle reaper). */
export interface ExecHandle {
  /** Marks the outcome; with kill, also kills the process group (remove kills via the container). */
  stop(reason: StopReason, kill: boolean): void;
}

export interface ExecHooks {
  onStart(handle: ExecHandle): void;
  onEnd(handle: ExecHandle): void;
  /** Whether the container's OOM-kill counter went up since the last check (and records it). */
  oomKilled(): Promise<boolean>;
}

export function parseOomKills(text: string): number | null {
  const match = /^oom_kill (\d+)$/m.exec(text);
  return match ? Number(match[1]) : null;
}

/** Runs a short helper command in the container and returns its stdout (stderr is dropped). */
export async function execText(docker: Dockerode, container: Dockerode.Container, cmd: string[]): Promise<string> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Env: [] });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new OutputCollector('stdout', undefined);
  docker.modem.demuxStream(stream, sink(out), sink(new OutputCollector('stderr', undefined)));
  await streamClosed(stream);
  out.end();
  return out.text;
}

export async function readOomKills(docker: Dockerode, container: Dockerode.Container): Promise<number | null> {
  return parseOomKills(await execText(docker, container, OOM_PROBE));
}

export async function runDockerExec(
  docker: Dockerode,
  container: Dockerode.Container,
  argv: readonly string[],
  options: ExecOptions,
  hooks: ExecHooks,
): Promise<ExecResult> {
  const started = Date.now();
  if (options.signal?.aborted) {
    return { exitCode: null, outcome: 'cancelled', stdout: '', stderr: '', truncated: false, durationMs: 0 };
  }
  if (argv.length === 0) throw new SandboxError('invalid_sandbox_spec', 'exec needs a command');
  const pidFile = `/tmp/.devteam-exec-${randomUUID()}.pid`;
  const exec = await container.exec({
    Cmd: ['sh', '-c', WRAPPER, pidFile, ...argv],
    // Only the command's own variables: the runner's environment must never reach the sandbox.
    Env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    WorkingDir: options.cwd ? posix.resolve(WORKSPACE, options.cwd) : WORKSPACE,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });

  const out = new OutputCollector('stdout', options.onLine, options.maxOutputBytes);
  const err = new OutputCollector('stderr', options.onLine, options.maxOutputBytes);
  let stopped: StopReason | null = null;
  let drainTimer: NodeJS.Timeout | undefined;
  let stream: NodeJS.ReadWriteStream | undefined;

  const handle: ExecHandle = {
    stop(reason, kill) {
      if (stopped) return;
      stopped = reason;
      if (kill) void execText(docker, container, ['sh', '-c', KILLER, pidFile]).catch(() => undefined);
      // If the kill did not close the stream (container wedged), stop waiting for it.
      drainTimer = setTimeout(() => (stream as unknown as { destroy?: () => void })?.destroy?.(), DRAIN_AFTER_KILL_MS);
    },
  };
  const onAbort = () => handle.stop('cancelled', true);
  const timer = setTimeout(() => handle.stop('timeout', true), options.timeoutMs);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  hooks.onStart(handle);
  try {
    stream = await exec.start({ hijack: true, stdin: false });
    docker.modem.demuxStream(stream, sink(out), sink(err));
    await streamClosed(stream);
  } finally {
    clearTimeout(timer);
    clearTimeout(drainTimer);
    options.signal?.removeEventListener('abort', onAbort);
    hooks.onEnd(handle);
  }
  out.end();
  err.end();

  const base = { stdout: out.text, stderr: err.text, truncated: out.truncated || err.truncated };
  const durationMs = () => Date.now() - started;
  if (stopped) return { ...base, exitCode: null, outcome: stopped, durationMs: durationMs() };
  const exitCode = await exitCodeOf(exec);
  if (exitCode === SIGKILL_EXIT && (await hooks.oomKilled().catch(() => false))) {
    return { ...base, exitCode: null, outcome: 'oom', durationMs: durationMs() };
  }
  return { ...base, exitCode, outcome: 'completed', durationMs: durationMs() };
}

/** The exit code; inspect can briefly still say "running" right after the stream closed. */
async function exitCodeOf(exec: Dockerode.Exec): Promise<number | null> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const info = await exec.inspect().catch(() => null);
    if (!info) return null;
    if (!info.Running) return info.ExitCode ?? null;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

function sink(collector: OutputCollector): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      collector.push(chunk);
      callback();
    },
  });
}

function streamClosed(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => resolve();
    stream.once('end', done);
    stream.once('close', done);
    // A stream torn down by container removal errors; what was read so far is the output.
    stream.once('error', done);
  });
}
