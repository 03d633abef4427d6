// A project's recent output lines, bounded: the last `cap` lines are kept, older ones dropped, so
// a run printing thousands of lines a second cannot grow the tab's memory. Readers take what was
// appended since they last looked (`since`), or everything kept.
export interface LogLine {
  /** Position in the whole stream of lines (never reused), so a reader knows what it has. */
  n: number;
  source: 'agent' | 'verify';
  stream: 'stdout' | 'stderr';
  taskId: string | null;
  attempt: number;
  text: string;
}

export const LOG_CAP = 2_000;

export class LogBuffer {
  private lines: LogLine[] = [];
  private next = 0;
  private base = 0;
  /** Bumped by clear(): a reader drawing an older generation starts over. */
  generation = 0;
  private readonly listeners = new Set<() => void>();

  constructor(readonly cap = LOG_CAP) {}

  /** How many lines were ever appended (the `n` the next one gets). */
  get total(): number {
    return this.next;
  }

  /** Lines of this generation (since the last clear). */
  get count(): number {
    return this.next - this.base;
  }

  /** How many lines of this generation were dropped to stay within the cap. */
  get dropped(): number {
    return this.count - this.lines.length;
  }

  append(lines: Array<Omit<LogLine, 'n'>>): void {
    for (const line of lines) this.lines.push({ ...line, n: this.next++ });
    // Trim in one splice per batch rather than a shift per line.
    if (this.lines.length > this.cap) this.lines.splice(0, this.lines.length - this.cap);
    for (const listener of this.listeners) listener();
  }

  clear(): void {
    this.lines = [];
    this.base = this.next;
    this.generation++;
    for (const listener of this.listeners) listener();
  }

  /** Kept lines with n >= from (all kept lines when from is older than what is kept). */
  since(from: number): LogLine[] {
    const first = this.lines[0]?.n ?? this.next;
    return from <= first ? this.lines.slice() : this.lines.slice(from - first);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
