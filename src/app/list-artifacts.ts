// What each task attempt of an execution produced (prompt, diff, files, outputs), for the tenant
// that owns the execution; contents only on request, as they can be large.
import type { ArtifactRecord, ArtifactsStore, ExecutionsStore } from '../infra/db/index.js';
import { ApiError } from './errors.js';
import { storeCall } from './store-call.js';

export interface ListArtifactsDeps {
  artifacts: ArtifactsStore;
  executions: ExecutionsStore;
}

export interface ArtifactsRequest {
  tenant: string;
  /** A checked, lower-case UUID (the front validates it before any query). */
  executionId: string;
  /** Only this task's artifacts. */
  taskId?: string;
  withContent: boolean;
}

export interface ArtifactsListing {
  executionId: string;
  projectId: string;
  artifacts: ArtifactRecord[];
}

export async function listArtifacts(deps: ListArtifactsDeps, req: ArtifactsRequest): Promise<ArtifactsListing> {
  const { tenant, executionId, taskId, withContent } = req;
  const execution = await storeCall(() => deps.executions.get(executionId));
  // Another tenant's execution is indistinguishable from an unknown one: 404, not 403.
  if (!execution || execution.tenant !== tenant) throw new ApiError('not_found', `no execution ${executionId}`);
  const artifacts = await storeCall(() => deps.artifacts.list(executionId, { taskId, withContent }));
  return { executionId, projectId: execution.projectId, artifacts };
}
