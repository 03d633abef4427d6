// Output of one command in a sandbox: split into lines for live streaming, and a bounded tail
// kept for the result, so a chatty build can never grow memory without bound.
import { StringDecoder } from 'node:string_decoder';
import type { ExecOptions, ExecResult, OutputStream } from './sandbox.js';

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** A single line longer than this is delivered in pieces rather than buffered whole. */
const MAX_LINE_CHARS = 64 * 1024;

export class OutputCollector {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private chunks: string[] = [];
  private kept = 0;
  private dropped = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly onLine: ((stream: OutputStream, line: string) => void) | undefined,
    private readonly maxBytes = DEFAULT_MAX_OUTPUT_BYTES,
  ) {}

  push(chunk: Buffer): void {
    const text = this.decoder.write(chunk);
    if (text) this.accept(text);
  }

  /** Flushes a final line without a newline. Call once, when the stream has ended. */
  end(): void {
    const rest = this.decoder.end();
    if (rest) this.accept(rest);
    if (this.partial) {
      this.emit(this.partial);
      this.partial = '';
    }
  }

  get text(): string {
    const joined = this.chunks.join('');
    if (Buffer.byteLength(joined) <= this.maxBytes) return joined;
    // Trim the head to the byte budget without splitting a character.
    const bytes = Buffer.from(joined);
    return new TextDecoder().decode(bytes.subarray(bytes.length - this.maxBytes)).replace(/^\uFFFD+/, '');
  }

  get truncated(): boolean {
    return this.dropped || Buffer.byteLength(this.chunks.join('')) > this.maxBytes;
  }

  private accept(text: string): void {
    this.keep(text);
    if (!this.onLine) return;
    let start = 0;
    let nl = text.indexOf('\n');
    let buffered = this.partial;
    while (nl !== -1) {
      this.emit(buffered + text.slice(start, nl));
      buffered = '';
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    buffered += text.slice(start);
    while (buffered.length > MAX_LINE_CHARS) {
      this.emit(buffered.slice(0, MAX_LINE_CHARS));
      buffered = buffered.slice(MAX_LINE_CHARS);
    }
    this.partial = buffered;
  }

  private emit(line: string): void {
    this.onLine?.(this.stream, line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  private keep(text: string): void {
    this.chunks.push(text);
    this.kept += text.length;
    // Drop whole chunks from the head while what remains still covers the budget (chars ≥ bytes/4).
    while (this.chunks.length > 1 && this.kept - this.chunks[0]!.length > this.maxBytes) {
      this.kept -= this.chunks.shift()!.length;
      this.dropped = true;
    }
  }
}

/** Both streams of one command, capped, and the ExecResult built from them: shared by the drivers. */
export function commandOutput(options: ExecOptions): {
  stdout: OutputCollector;
  stderr: OutputCollector;
  result(outcome: ExecResult['outcome'], exitCode: number | null): ExecResult;
} {
  const started = Date.now();
  const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const stdout = new OutputCollector('stdout', options.onLine, maxBytes);
  const stderr = new OutputCollector('stderr', options.onLine, maxBytes);
  return {
    stdout,
    stderr,
    result: (outcome, exitCode) => ({
      exitCode,
      outcome,
      stdout: stdout.text,
      stderr: stderr.text,
      truncated: stdout.truncated || stderr.truncated,
      durationMs: Date.now() - started,
    }),
  };
}
