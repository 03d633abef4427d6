// Sends the webhook outbox: every worker polls for due deliveries (claimed with SKIP LOCKED, so
// each try is made by one worker) and POSTs them, signed with the tenant's secret from this
// worker's environment. A 2xx ends a delivery; anything else is tried again with exponential
// backoff until its 24 h are over. Receivers deduplicate by the delivery id (X-DevTeam-Delivery):
// a worker that dies between the receiver's 2xx and recording it makes the next try repeat it.
import type { ClaimedDelivery, WebhookDeliveriesStore } from '../infra/db/index.js';
import type { Logger } from '../infra/log.js';
import type { Metrics } from '../infra/metrics/index.js';
import { postWebhook, type WebhookTryResult } from '../infra/webhooks/index.js';
import { readTenantSecret } from '../project/index.js';

export interface WebhookDispatcherDeps {
  deliveries: WebhookDeliveriesStore;
  env: Record<string, string | undefined>;
  log: Logger;
  metrics?: Metrics;
  pollMs: number;
  /** The first retry's delay; each next one doubles, up to maxRetryDelayMs. */
  retryBaseMs: number;
  maxRetryDelayMs?: number;
  timeoutMs: number;
  allowPrivate: boolean;
  batch?: number;
}

const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: WebhookDispatcherDeps) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.deps.pollMs);
    this.timer.unref();
  }

  /** Look for due deliveries now (a transition just committed some). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Passes until nothing is due. */
  private async drain(): Promise<void> {
    const { deliveries, log } = this.deps;
    try {
      for (;;) {
        // A claim outlives the try's timeout, so no other worker starts it while it is in flight.
        const due = await deliveries.claimDue(this.deps.batch ?? 20, this.deps.timeoutMs * 2 + 5_000);
        if (due.length === 0 || this.stopped) return;
        await Promise.all(due.map((d) => this.deliver(d)));
      }
    } catch (error) {
      log.warn({ err: error }, 'webhook pass failed; retrying on the next poll');
    }
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const log = this.deps.log.child({ deliveryId: d.id, event: d.event, projectId: d.projectId, executionId: d.executionId, tenant: d.tenant, attempt: d.attempt });
    const at = new Date();
    const result = await this.post(d);
    const delivered = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const delay = Math.min(this.deps.retryBaseMs * 2 ** (d.attempt - 1), this.deps.maxRetryDelayMs ?? MAX_RETRY_DELAY_MS);
    const retryAt = delivered ? null : new Date(Date.now() + delay);
    const status = await this.deps.deliveries.finishTry(d.id, { attempt: d.attempt, at, ...result, delivered, retryAt });
    this.deps.metrics?.webhookTries.inc({ result: delivered ? 'delivered' : 'failed' });
    if (delivered) log.info({ statusCode: result.statusCode, durationMs: Math.round(result.durationMs) }, 'webhook delivered');
    else log.warn({ statusCode: result.statusCode, error: result.error, next: status === 'pending' ? retryAt : null }, status === 'failed' ? 'webhook given up' : 'webhook try failed');
  }

  private async post(d: ClaimedDelivery): Promise<WebhookTryResult> {
    let secret: string | undefined;
    try {
      secret = readTenantSecret(this.deps.env, d.tenant, d.secretEnv);
    } catch (error) {
      return { statusCode: null, error: (error as Error).message, durationMs: 0 };
    }
    // Unsigned webhooks are never sent: the operator may still set the variable within the 24 h.
    if (!secret) return { statusCode: null, error: `${d.secretEnv} is not set in the worker's environment: not sent unsigned`, durationMs: 0 };
    return postWebhook({ url: d.url, body: d.body, event: d.event, deliveryId: d.id, secret, timeoutMs: this.deps.timeoutMs, allowPrivate: this.deps.allowPrivate });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
