// The status read use case: a project's status projection as the JSON body every front serves
// (the uWS route, and the Fastify baseline in bench/), answered from the status cache when it holds
// the body and from the latest execution otherwise.
import type { ExecutionRecord } from '../infra/db/index.js';

/** The cache a front keeps (src/http/status-cache.ts StatusCache): the loaded body, or the cached one. */
export interface StatusBodyCache {
  read(tenant: string, projectId: string, load: () => Promise<string | null>): Promise<string | null>;
}

export interface ReadStatusDeps {
  /** The project's latest execution in the tenant; the front bounds it and maps store failures. */
  latest(tenant: string, projectId: string): Promise<ExecutionRecord | null>;
  statusCache: StatusBodyCache;
}

/** The serialized status body, or null when the tenant has no such project (another tenant's looks the same). */
export function readStatus(deps: ReadStatusDeps, tenant: string, projectId: string): Promise<string | null> {
  return deps.statusCache.read(tenant, projectId, async () => {
    const execution = await deps.latest(tenant, projectId);
    return execution ? JSON.stringify(statusBody(projectId, execution)) : null;
  });
}

/** The body of a status read. */
export function statusBody(projectId: string, execution: ExecutionRecord) {
  const p = execution.projection;
  return {
    projectId,
    executionId: execution.id,
    status: p.status,
    phase: p.phase,
    currentTask: p.currentTask,
    progress: p.progress,
    attempt: p.attempt,
    lastError: p.lastError,
    results: p.results,
    // Reported by the agents over every attempt; null figures were never reported (README, "Usage and budgets").
    usage: p.usage ?? null,
    // Only with parallelism > 1: the tasks in flight (decision 0028).
    ...(p.running ? { running: p.running } : {}),
    resumes: p.resumes ?? 0,
    createdAt: execution.createdAt,
    updatedAt: execution.updatedAt,
    finishedAt: execution.finishedAt,
  };
}
