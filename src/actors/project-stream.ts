// What a driven project tells its watchers: an `execution-update` per persisted transition and
// `execution-log` batches of agent/verify output (every 50 ms or 64 KiB, whichever comes first).
// Appends are chained, so frames reach the log in the order they happened.
import type { ExecutionUpdate, ExecutionLog } from '../client/index.js';
import type { FrameLog, ProjectKey } from '../infra/frames/index.js';
import type { Logger } from '../infra/log.js';

const FLUSH_MS = 50;
const FLUSH_BYTES = 64 * 1024;

export interface OutputLine {
  source: ExecutionLog['source'];
  taskId: string | null;
  attempt: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

export class ProjectStream {
  private chain: Promise<unknown> = Promise.resolve();
  private batch: OutputLine[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly frames: FrameLog,
    private readonly key: ProjectKey,
    private readonly executionId: string,
    private readonly log: Logger,
  ) {}

  update(update: ExecutionUpdate): void {
    // Output produced before the transition is sent before it.
    this.flush();
    this.enqueue('execution-update', update);
  }

  line(line: OutputLine): void {
    this.batch.push(line);
    this.bytes += line.text.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Sends what is batched and waits until every frame so far is appended. */
  async drain(): Promise<void> {
    this.flush();
    await this.chain;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.batch.length === 0) return;
    const lines = this.batch;
    this.batch = [];
    this.bytes = 0;
    // One frame per source/task/attempt run of consecutive lines.
    let start = 0;
    for (let i = 1; i <= lines.length; i++) {
      const a = lines[start]!;
      const b = lines[i];
      if (b && b.source === a.source && b.taskId === a.taskId && b.attempt === a.attempt) continue;
      const payload: ExecutionLog = {
        executionId: this.executionId,
        source: a.source,
        taskId: a.taskId,
        attempt: a.attempt,
        lines: lines.slice(start, i).map((l) => ({ stream: l.stream, text: l.text })),
      };
      this.enqueue('execution-log', payload);
      start = i;
    }
  }

  private enqueue(type: 'execution-update' | 'execution-log', payload: unknown): void {
    this.chain = this.chain.then(() =>
      this.frames.append(this.key, type, this.executionId, payload).catch((err) => this.log.warn({ err, type }, 'could not publish a stream frame')),
    );
  }
}
