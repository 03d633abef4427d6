// `devteam watch <projectId>`: follows a project's latest execution on the live stream and prints it
// until that execution reaches a final status. It starts at the present (a subscription without
// lastSeq: the server's resync names the latest execution), so frames of earlier executions are
// never printed; a project not initialized yet is waited for, and a re-initialize while watching
// switches to the new execution. Exit codes: 0 final status reached, 2 refused (1008), 130 interrupted.
import { WebSocket } from 'ws';
import { ExecutionFollower, FINAL_STATUSES, StreamClient, formatFrame, frameStatus, type Frame } from './client/index.js';

export interface WatchOptions {
  url: string;
  token?: string;
  json?: boolean;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

export function runWatch(projectId: string, opts: WatchOptions): Promise<number> {
  const out = opts.out ?? ((text: string) => void process.stdout.write(text));
  const err = opts.err ?? ((text: string) => void process.stderr.write(text));
  const follower = new ExecutionFollower();
  return new Promise<number>((resolve) => {
    let done = false;
    let client: StreamClient | undefined;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      process.off('SIGINT', onSigint);
      client?.close();
      resolve(code);
    };
    const onSigint = () => finish(130);
    process.on('SIGINT', onSigint);
    const print = (frame: Frame) => {
      if (opts.json) return out(`${JSON.stringify(frame)}\n`);
      const line = formatFrame(frame);
      if (line !== null) out(`${line}\n`);
    };
    const onFrame = (frame: Frame) => {
      if (done || (frame.projectId !== projectId && frame.type !== 'hello' && frame.type !== 'error')) return;
      const verdict = follower.observe(frame);
      // Notices go to stderr, so that --json output stays one frame per line.
      if (verdict === 'earlier') return;
      if (verdict === 'waiting') err(`devteam watch: ${projectId} is not initialized yet; waiting for its first run\n`);
      if (verdict === 'started') err(`devteam watch: ${projectId} started: following execution ${frame.executionId}\n`);
      if (verdict === 'switched') err(`devteam watch: ${projectId} was initialized again: following the new execution ${frame.executionId}\n`);
      if (verdict !== 'waiting' || opts.json) print(frame);
      const status = frameStatus(frame);
      if (status && FINAL_STATUSES.has(status) && frame.executionId === follower.executionId) finish(0);
    };
    try {
      client = new StreamClient({
        url: opts.url,
        token: opts.token,
        projects: [projectId],
        WebSocket,
        onFrame,
        onStatus(state, info) {
          if (done) return;
          if (state === 'closed' && info.fatal) {
            err(`devteam watch: refused by the server (${info.code}${info.reason ? `: ${info.reason}` : ''}): unauthorized\n`);
            finish(2);
          } else if (state === 'reconnecting') {
            err(`devteam watch: connection lost${info.code ? ` (${info.code})` : ''}, reconnecting in ${info.delayMs} ms\n`);
          }
        },
        onError(error) {
          if (!done) err(`devteam watch: ${error.message}\n`);
        },
      });
    } catch (error) {
      err(`devteam watch: ${(error as Error).message}\n`);
      finish(2);
    }
  });
}
