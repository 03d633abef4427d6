// The DEVTEAM_AUTOMATION workflow: the queue job that starts (or continues) a project's actor on
// this worker. `initialize` enqueues exactly this job for the execution it created; POST /events
// may send it for an initialized project (payload.projectId, else the event's projectId). The
// event's task_context names the execution, whose live state GET /events/{id} then shows.
import { z } from 'zod';
import { DEVTEAM_AUTOMATION } from '../app/event-job.js';
import type { ExecutionsStore } from '../infra/db/index.js';
import { projectIdSchema } from '../project/index.js';
import type { ProjectHost } from './project-host.js';
import type { Workflow, WorkflowResult, WorkflowRun } from './workflow-registry.js';

export { DEVTEAM_AUTOMATION };

/** The pipeline every task goes through (design.md). */
export const PIPELINE = ['select', 'prep', 'implement', 'verify', 'merge', 'push'] as const;

const payloadSchema = z.looseObject({
  /** Set by initialize: the execution it created. */
  executionId: z.uuid('an execution id (UUID)').optional(),
  /** Which project to continue; defaults to the event's projectId. */
  projectId: projectIdSchema.optional(),
});

export type DevteamAutomationPayload = z.infer<typeof payloadSchema>;

const LIVE = new Set(['running', 'stopping']);

export interface DevteamAutomationDeps {
  executions: ExecutionsStore;
  host: Pick<ProjectHost, 'take'>;
}

export function devteamAutomation(deps: DevteamAutomationDeps): Workflow<DevteamAutomationPayload> {
  return {
    name: DEVTEAM_AUTOMATION,
    payloadSchema,
    async run(run: WorkflowRun<DevteamAutomationPayload>): Promise<WorkflowResult> {
      const { event, events, log, payload } = run;
      const projectId = payload.projectId ?? event.projectId;
      // The event's own tenant, never one named in the payload.
      const execution = payload.executionId
        ? await deps.executions.get(payload.executionId).then((e) => (e && e.tenant === event.tenant ? e : null))
        : await deps.executions.latest(event.tenant, projectId);
      if (!execution) {
        const what = payload.executionId ? `execution ${payload.executionId}` : `project ${projectId}`;
        return { status: 'failed', reason: `${what} is not initialized: POST /api/devteam/automation/initialize first, or send the initialize body as this event's payload` };
      }
      const status = execution.projection.status;
      if (!LIVE.has(status)) {
        await events.saveTaskContext(event, { executionId: execution.id });
        return { status: 'failed', reason: `execution ${execution.id} of project ${execution.projectId} is ${status}: there is nothing to continue (initialize the project again)` };
      }
      const taken = deps.host.take(execution.id, execution.tenant, execution.projectId);
      run.started();
      log.info({ executionId: execution.id, taken }, taken === 'full' ? 'this worker is full: the reconcile poll of a worker with room takes the project' : 'project handed to its actor');
      if (!(await events.saveTaskContext(event, { executionId: execution.id }))) {
        throw new Error('the claim on the event was lost before task_context could be saved');
      }
      return { status: 'processed' };
    },
  };
}
