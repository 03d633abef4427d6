// The frames of the live stream (/ws/devteam), shared by the server and every client: one zod
// envelope, so a frame that does not match is refused at both ends.
import { z } from 'zod';

export const FRAME_TYPES = ['hello', 'execution-update', 'execution-log', 'resync', 'error'] as const;
export type FrameType = (typeof FRAME_TYPES)[number];

/** Payload of `execution-update`: the status projection after a transition. */
export const ExecutionUpdateSchema = z.object({
  executionId: z.string(),
  status: z.enum(['running', 'paused', 'stopping', 'stopped', 'completed', 'failed']),
  phase: z.string().nullable(),
  task: z.object({ id: z.string(), title: z.string() }).nullable(),
  attempt: z.number().int().nonnegative(),
  progress: z.object({ done: z.number().int().nonnegative(), total: z.number().int().nonnegative() }),
  lastError: z.string().nullable(),
  /**
   * Why the task or the run failed (README, "Failure reasons": verify_failed, secret_in_diff, …) when
   * lastError ended one; absent otherwise (and from older servers). A string, so a reason added later
   * does not make older clients refuse the frame.
   */
  reason: z.string().optional(),
  /** How many of `progress.done` were found already merged and skipped; absent when none (and from older servers). */
  skipped: z.number().int().positive().optional(),
  /** What the agents reported using in the execution (null figures: never reported); absent before any attempt (and from older servers). */
  usage: z
    .object({ inputTokens: z.number().nullable(), outputTokens: z.number().nullable(), costUsd: z.number().nullable() })
    .optional(),
  /**
   * With parallelism > 1 (absent otherwise, and from older servers): every task in flight, oldest
   * first; `task`, `phase` and `attempt` are the first one's. Phases include `queued` and `reverify`.
   */
  running: z.array(z.object({ id: z.string(), title: z.string(), phase: z.string(), attempt: z.number().int().nonnegative() })).optional(),
  /** How often this failed execution was resumed in place (decision 0025); absent when never (and from older servers). */
  resumes: z.number().int().positive().optional(),
});
export type ExecutionUpdate = z.infer<typeof ExecutionUpdateSchema>;

/** The update payload of a status projection (the stored one, or one just persisted). */
export function executionUpdate(
  executionId: string,
  p: Pick<ExecutionUpdate, 'status' | 'phase' | 'attempt' | 'progress' | 'lastError'> & {
    currentTask: ExecutionUpdate['task'];
    results?: Record<string, unknown>;
    reason?: string | null;
    usage?: ExecutionUpdate['usage'] | null;
    running?: ExecutionUpdate['running'];
    resumes?: number;
  },
): ExecutionUpdate {
  const update: ExecutionUpdate = { executionId, status: p.status, phase: p.phase, task: p.currentTask, attempt: p.attempt, progress: p.progress, lastError: p.lastError };
  const results = Object.values(p.results ?? {}) as Array<{ status?: unknown; reason?: unknown } | null>;
  const skipped = results.filter((r) => r?.status === 'skipped').length;
  // The stored status row has no reason of its own: a failed task's result carries it.
  const failed = results.find((r) => r?.status === 'failed' && typeof r.reason === 'string');
  const reason = p.reason ?? (failed?.reason as string | undefined);
  const resumes = p.resumes ?? 0;
  return { ...update, ...(reason ? { reason } : {}), ...(skipped > 0 ? { skipped } : {}), ...(p.usage ? { usage: p.usage } : {}), ...(resumes > 0 ? { resumes } : {}), ...(p.running ? { running: p.running } : {}) };
}

/** Payload of `execution-log`: a batch of output lines of the agent or of a verify command. */
export const ExecutionLogSchema = z.object({
  executionId: z.string(),
  source: z.enum(['agent', 'verify']),
  taskId: z.string().nullable(),
  attempt: z.number().int().nonnegative(),
  lines: z.array(z.object({ stream: z.enum(['stdout', 'stderr']), text: z.string() })),
});
export type ExecutionLog = z.infer<typeof ExecutionLogSchema>;

/** Every frame: `seq` is per project and strictly increasing (0 for frames outside a project's sequence: hello, error). */
export const FrameSchema = z.object({
  type: z.enum(FRAME_TYPES),
  ts: z.number(),
  projectId: z.string(),
  seq: z.number().int().nonnegative(),
  /**
   * The execution (run) the frame belongs to; a project's sequence spans all its executions, so this
   * is how a client tells a new run from an earlier one. Always present, null when there is none:
   * hello and error frames, and the resync of a project that has no execution yet. Nullable rather
   * than optional so that every frame has one shape and "no execution" is said, not left out.
   */
  executionId: z.string().nullable(),
  payload: z.unknown(),
});
export type Frame = z.infer<typeof FrameSchema>;

/** What a client may send: subscribe to a project (resuming after `lastSeq`), or unsubscribe. */
export const ClientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), projectId: z.string().min(1).max(128), lastSeq: z.number().int().nonnegative().optional() }),
  z.object({ type: z.literal('unsubscribe'), projectId: z.string().min(1).max(128) }),
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
