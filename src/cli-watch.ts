// `devteam watch <projectId>`: follows a project's live stream and prints it until the project
// reaches a final status. Exit codes: 0 final status reached, 2 refused (1008), 130 interrupted.
import { WebSocket } from 'ws';
import { StreamClient } from './client/stream-client.js';
import { FINAL_STATUSES, formatFrame, frameStatus } from './client/watch-format.js';

export interface WatchOptions {
  url: string;
  token?: string;
  json?: boolean;
  /** Resume after 0 (replay what the server retains, or get a resync) instead of live frames only. Default true. */
  replay?: boolean;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

export function runWatch(projectId: string, opts: WatchOptions): Promise<number> {
  const out = opts.out ?? ((text: string) => void process.stdout.write(text));
  const err = opts.err ?? ((text: string) => void process.stderr.write(text));
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
    try {
      client = new StreamClient({
        url: opts.url,
        token: opts.token,
        projects: [projectId],
        lastSeq: opts.replay === false ? undefined : { [projectId]: 0 },
        WebSocket,
        onFrame(frame) {
          if (done) return;
          if (opts.json) out(`${JSON.stringify(frame)}\n`);
          else {
            const line = formatFrame(frame);
            if (line !== null) out(`${line}\n`);
          }
          const status = frame.projectId === projectId ? frameStatus(frame) : undefined;
          if (status && FINAL_STATUSES.has(status)) finish(0);
        },
        onStatus(state, info) {
          if (done) return;
          if (state === 'closed' && info.fatal) {
            err(`devteam watch: refused by the server (${info.code}${info.reason ? `: ${info.reason}` : ''}): unknown project or unauthorized\n`);
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
