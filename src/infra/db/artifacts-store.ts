// The artifacts port: what each task attempt produced (prompt, diff, changed files, agent and verify
// output), stored size-capped beside the execution so it can be read back through the API after
// the run. Contract: test/contract/artifacts-store.contract.ts.
import { z } from 'zod';

export const ARTIFACT_KINDS = ['prompt', 'diff', 'agent-output', 'verify-output', 'files', 'usage'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];
/** One attempt's outputs are tens of KiB in practice; 256 KiB keeps a whole diff of a real task. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 256 * 1024;

/**
 * Which end survives the cap. Command output: the END (the error and the summary are last).
 * Diffs, prompts and file lists: the START (a diff cut at the end still applies file by file up
 * to the cut, and a prompt's task and instructions are at its top).
 */
export const KEEP: Record<ArtifactKind, 'start' | 'end'> = {
  prompt: 'start',
  diff: 'start',
  files: 'start',
  'agent-output': 'end',
  'verify-output': 'end',
  usage: 'start',
};

export const NewArtifactSchema = z.object({
  executionId: z.guid(),
  taskId: z.string().min(1).max(64),
  attempt: z.number().int().nonnegative(),
  kind: z.enum(ARTIFACT_KINDS),
  content: z.string(),
  /** Durations, exit code, the files list…: small, JSON. */
  meta: z.record(z.string(), z.unknown()).default({}),
});
export type NewArtifact = z.input<typeof NewArtifactSchema>;

export interface ArtifactRecord {
  id: string;
  executionId: string;
  taskId: string;
  attempt: number;
  kind: ArtifactKind;
  /** UTF-8 bytes stored. */
  bytes: number;
  /** UTF-8 bytes before the cap. */
  bytesTotal: number;
  truncated: boolean;
  meta: Record<string, unknown>;
  createdAt: Date;
  /** Only when asked for (list withContent, or get). */
  content?: string;
}

export class ArtifactStoreError extends Error {
  constructor(
    readonly code: 'invalid_artifact',
    message: string,
    readonly details: unknown = undefined,
  ) {
    super(message);
    this.name = 'ArtifactStoreError';
  }
}

export interface ArtifactsStore {
  /** Stores one artifact, capped at the store's maxBytes (capContent); returns it without its content. */
  put(input: NewArtifact): Promise<ArtifactRecord>;
  /** The execution's artifacts, oldest first, optionally of one task; contents only when asked (they can be large). */
  list(executionId: string, opts?: { taskId?: string; withContent?: boolean }): Promise<ArtifactRecord[]>;
  /** One artifact with its content; null for an unknown (or malformed) id. */
  get(id: string): Promise<ArtifactRecord | null>;
}

/**
 * `text` within `maxBytes` of UTF-8, keeping its start or its end, cut at a line boundary when
 * there is one in the kept part (else at a character boundary). NUL characters become U+FFFD:
 * Postgres text cannot hold them, and tool output does contain them.
 */
export function capContent(text: string, maxBytes: number, keep: 'start' | 'end'): { content: string; bytesTotal: number; truncated: boolean } {
  const clean = text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
  const bytesTotal = Buffer.byteLength(text, 'utf8');
  const bytes = Buffer.from(clean, 'utf8');
  if (bytes.length <= maxBytes) return { content: clean, bytesTotal, truncated: false };
  if (keep === 'start') {
    let end = maxBytes;
    const newline = bytes.lastIndexOf(0x0a, end - 1);
    if (newline > 0) end = newline + 1;
    else while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    return { content: bytes.subarray(0, end).toString('utf8'), bytesTotal, truncated: true };
  }
  let start = bytes.length - maxBytes;
  if (bytes[start - 1] !== 0x0a) {
    const newline = bytes.indexOf(0x0a, start);
    if (newline !== -1 && newline + 1 < bytes.length) start = newline + 1;
    else while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  }
  return { content: bytes.subarray(start).toString('utf8'), bytesTotal, truncated: true };
}
