// Consumes event jobs: claims the event row (once, whatever the number of deliveries), resolves
// its workflow by type, runs it and records the outcome on the row.
import type { Metrics } from '../infra/metrics/index.js';
import type { Logger } from '../infra/log.js';
import type { EventsStore } from '../infra/db/index.js';
import type { Consumer, QueueJob } from '../infra/queue/index.js';
import type { EventJob, EventQueue } from '../app/event-job.js';
import type { WorkflowRegistry } from './workflow-registry.js';

export interface EventWorkerDeps {
  queue: EventQueue;
  events: EventsStore;
  registry: WorkflowRegistry;
  log: Logger;
  concurrency: number;
  staleAfterMs: number;
  metrics?: Metrics;
}

export function startEventWorker(deps: EventWorkerDeps): Consumer {
  const { queue, log } = deps;
  log.info({ queue: queue.name, concurrency: deps.concurrency, workflows: deps.registry.names() }, 'worker consuming');
  return queue.consume((job, signal) => handleEventJob(deps, job, signal), { concurrency: deps.concurrency });
}

export async function handleEventJob(deps: EventWorkerDeps, job: QueueJob<EventJob>, signal: AbortSignal): Promise<void> {
  const { events, registry } = deps;
  const { eventId, correlationId, projectId, type } = job.data;
  const log = deps.log.child({ eventId, correlationId, projectId, type, jobAttempt: job.attempt });

  const event = await events.claim(eventId, { enqueuedAt: job.enqueuedAt, staleAfterMs: deps.staleAfterMs });
  if (!event) {
    log.info('event already taken or finished; duplicate delivery skipped');
    return;
  }
  log.info({ attempt: event.claim, queueLatencyMs: event.queueLatencyMs }, 'event started');
  const started = performance.now();
  let observed = false;
  // Enqueue → the work's own start (e.g. the project's actor), not merely → the claim.
  const markStarted = () => {
    if (observed || event.queueLatencyMs === null) return;
    observed = true;
    deps.metrics?.queueLatency.observe((event.queueLatencyMs + (performance.now() - started)) / 1000);
  };

  const workflow = registry.resolve(event.type);
  if (!workflow) {
    const reason = `unknown event type "${event.type}": no workflow is registered for it (known: ${registry.names().join(', ')})`;
    await events.markFailed(event, reason);
    log.warn({ reason }, 'event failed');
    return;
  }
  const payload = workflow.payloadSchema.safeParse(event.payload);
  if (!payload.success) {
    const reason = `invalid payload for ${event.type}: ${payload.error.issues
      .map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`)
      .join('; ')}`;
    await events.markFailed(event, reason);
    log.warn({ reason }, 'event failed');
    return;
  }

  try {
    const result = await workflow.run({ event, payload: payload.data, log, signal, events, started: markStarted });
    markStarted();
    const durationMs = Math.round(performance.now() - started);
    if (result.status === 'processed') {
      const recorded = await events.markProcessed(event);
      log.info({ durationMs, recorded }, recorded ? 'event processed' : 'event processed but the claim was lost; result not recorded');
    } else {
      await events.markFailed(event, result.reason);
      log.warn({ durationMs, reason: result.reason }, 'event failed');
    }
  } catch (error) {
    // Unexpected (store down, aborted by shutdown): hand the event back and let the queue retry;
    // if even that write fails, the outbox picks the event up once it is stale.
    const reason = signal.aborted ? 'interrupted by shutdown' : error instanceof Error ? error.message : String(error);
    await events.release(event, reason).catch(() => false);
    log.error({ err: error, reason }, 'event attempt interrupted; it will be retried');
    throw error;
  }
}
