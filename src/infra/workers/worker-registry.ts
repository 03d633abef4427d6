// Which workers are alive and what each can run: every worker announces its capabilities with a
// heartbeat (a record that expires unless renewed), and the API checks an initialize against the
// live ones — it cannot see the workers' machines itself.
import { z } from 'zod';

export const WorkerCapabilitiesSchema = z.object({
  workerId: z.string().min(1).max(200),
  /** The worker's host name, for operators reading a refusal. */
  host: z.string().max(255),
  driver: z.enum(['docker', 'local', 'none']),
  sandbox: z.object({
    available: z.boolean(),
    problem: z.string().nullable(),
    remedy: z.string().nullable(),
  }),
  /** Each agent CLI and where the worker's sandbox finds it (null: not found). */
  agents: z.record(z.string(), z.string().nullable()),
  /** Names (never values) of the model key variables set in the worker's environment. */
  keys: z.array(z.string()),
});
export type WorkerCapabilities = z.infer<typeof WorkerCapabilitiesSchema>;

export interface WorkerRegistry {
  /** Records (or renews) this worker's capabilities; forgotten after ttlMs without renewal. */
  announce(capabilities: WorkerCapabilities, ttlMs: number): Promise<void>;
  /** Forgets a worker at once (it is shutting down). */
  withdraw(workerId: string): Promise<void>;
  /** The workers whose announcement has not expired, in no particular order. */
  live(): Promise<WorkerCapabilities[]>;
  close(): Promise<void>;
}

export function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError(`worker ttlMs must be a positive integer, got ${ttlMs}`);
}
