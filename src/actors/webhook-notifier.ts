// The deliveries a project's transition causes: read once per drive from the project's `notify`
// configuration, built per persisted transition (transitionEvents) and written in that
// transition's own transaction, so a crash can lose neither the transition nor its webhooks.
import type { ExecutionRecord, NewDelivery, Projection, Sql, WebhookDeliveriesStore } from '../infra/db/index.js';
import { transitionEvents } from '../machines/index.js';
import type { InitializeBody, WebhookEvent } from '../project/index.js';

export interface WebhookNotifierDeps {
  deliveries: WebhookDeliveriesStore;
  /** How long a delivery is retried (24 h). */
  retryForMs: number;
  /** Called after deliveries were committed: try them now rather than at the next poll. */
  kick?: () => void;
  clock?: () => Date;
}

/** What one transition writes besides the snapshot: undefined when it causes no delivery. */
export type TransitionWrite = ((tx: Sql) => Promise<void>) | undefined;

export class WebhookNotifier {
  private readonly events: ReadonlySet<WebhookEvent> | null;

  constructor(
    private readonly deps: WebhookNotifierDeps,
    private readonly record: Pick<ExecutionRecord, 'id' | 'tenant' | 'projectId'>,
    private readonly notify: NonNullable<InitializeBody['notify']>,
  ) {
    this.events = notify.events ? new Set(notify.events) : null;
  }

  /** The deliveries of the transition `before` → `after`, as a write for its transaction. */
  forTransition(before: Projection, after: Projection): { write: TransitionWrite; committed: () => void } {
    const deliveries = this.deliveriesOf(before, after);
    if (deliveries.length === 0) return { write: undefined, committed: () => undefined };
    return { write: (tx) => this.deps.deliveries.enqueue(tx, deliveries), committed: () => this.deps.kick?.() };
  }

  private deliveriesOf(before: Projection, after: Projection): NewDelivery[] {
    const occurredAt = (this.deps.clock?.() ?? new Date()).toISOString();
    const run = { status: after.status, progress: after.progress, lastError: after.lastError, reason: (after as { reason?: unknown }).reason ?? null };
    return transitionEvents(before, after)
      .filter(({ event }) => this.events === null || this.events.has(event))
      .map(({ event, taskId }) => {
        const id = crypto.randomUUID();
        const task = taskId === undefined ? undefined : { id: taskId, ...(after.results[taskId] as object) };
        const body = JSON.stringify({ id, event, occurredAt, projectId: this.record.projectId, executionId: this.record.id, ...(task ? { task } : {}), run });
        return {
          id,
          tenant: this.record.tenant,
          projectId: this.record.projectId,
          executionId: this.record.id,
          event,
          url: this.notify.url,
          secretEnv: this.notify.secretEnv,
          body,
          retryForMs: this.deps.retryForMs,
        };
      });
  }
}
