// Which execution `devteam watch` follows: a project's frame sequence spans all its executions (every
// initialize starts one), and watch must follow the latest — not exit on an earlier run's final
// status. The server's resync names the latest execution (null before the first initialize); a frame
// of another execution after that is a new run (the old one had to be final before it could start).
// Pure: no I/O, one decision per frame.
import type { Frame } from './frames.js';

/**
 * What a frame means for the follower:
 * - `follow`: of the followed execution (or outside any execution: hello, error) — show it;
 * - `waiting`: the project has no execution yet;
 * - `started`: the first execution of a project that was waited for;
 * - `switched`: a newer execution (the project was initialized again) — now followed;
 * - `earlier`: of an execution already left behind — skip it.
 */
export type FollowVerdict = 'follow' | 'waiting' | 'started' | 'switched' | 'earlier';

export class ExecutionFollower {
  /** undefined: not known yet; null: the project has no execution yet. */
  private current: string | null | undefined = undefined;
  private readonly left = new Set<string>();

  /** The execution followed now: undefined until known, null while the project has none. */
  get executionId(): string | null | undefined {
    return this.current;
  }

  observe(frame: Frame): FollowVerdict {
    if (frame.type === 'hello' || frame.type === 'error') return 'follow';
    const id = frame.executionId;
    if (id === null) {
      // Only a resync says "no execution yet"; a frame of an older server without the field is shown as is.
      if (frame.type !== 'resync' || typeof this.current === 'string') return 'follow';
      this.current = null;
      return 'waiting';
    }
    if (id === this.current) return 'follow';
    if (this.left.has(id)) return 'earlier';
    const before = this.current;
    this.current = id;
    if (before === undefined) return 'follow';
    if (before === null) return 'started';
    this.left.add(before);
    return 'switched';
  }
}
