// The stall watchdog of one command (the agent, or a build command): silent — no output line — and
// idle — no file of the work tree changed — for `stallMs`, it calls `onStall` once. Output is
// cheap to watch (each line calls `activity`); the tree is scanned only once the output has been
// silent for stallMs, and again each stallMs it stays so (decision 0026).
import { changedSince } from '../infra/repo/index.js';

export interface StallWatchdogOptions {
  /** The work tree whose changes count as activity. */
  dir: string;
  stallMs: number;
  onStall: () => void;
  /** When the watchdog cannot scan (the tree is gone): it keeps waiting. */
  onScanError?: (error: unknown) => void;
}

export class StallWatchdog {
  private last = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;
  private fired = false;

  constructor(private readonly options: StallWatchdogOptions) {}

  /** Starts watching; the silence counts from now. */
  start(): this {
    this.last = Date.now();
    // Checked 5 times per stall period, between 0.2 s and 5 s apart: a stall is seen at most a fifth late.
    const every = Math.min(5_000, Math.max(200, Math.floor(this.options.stallMs / 5)));
    this.timer = setInterval(() => void this.check(), every);
    this.timer.unref();
    return this;
  }

  /** The command printed a line. */
  activity(): void {
    this.last = Date.now();
  }

  /** Whether the command was found stalled. */
  get stalled(): boolean {
    return this.fired;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (this.scanning || this.fired || !this.timer || Date.now() - this.last < this.options.stallMs) return;
    this.scanning = true;
    try {
      const since = this.last;
      const changed = await changedSince(this.options.dir, since);
      if (!this.timer) return;
      if (changed !== null) {
        // A file changed: the silence counts from that change (never from the future).
        this.last = Math.max(this.last, Math.min(Date.now(), changed));
        return;
      }
      if (this.last !== since) return;
      this.fired = true;
      this.stop();
      this.options.onStall();
    } catch (error) {
      this.last = Date.now();
      this.options.onScanError?.(error);
    } finally {
      this.scanning = false;
    }
  }
}
