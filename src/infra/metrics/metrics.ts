// Prometheus metrics (prom-client): one registry per process, served at GET /metrics by the API
// and on DEVTEAM_METRICS_PORT by a worker. Labels stay low-cardinality: routes, steps, statuses
// — never project or execution ids.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LONG_SECONDS = [0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800];

export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'devteam_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['route', 'status'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });

  readonly queueLatency = new Histogram({
    name: 'devteam_queue_latency_seconds',
    help: 'Time from enqueue to a worker starting the event job',
    buckets: SECONDS,
    registers: [this.registry],
  });

  readonly stepDuration = new Histogram({
    name: 'devteam_step_duration_seconds',
    help: 'Duration of pipeline steps by step and outcome',
    labelNames: ['step', 'outcome'] as const,
    buckets: LONG_SECONDS,
    registers: [this.registry],
  });

  readonly verifyDuration = new Histogram({
    name: 'devteam_verify_duration_seconds',
    help: 'Duration of verification (all verify commands of one attempt) by result',
    labelNames: ['result'] as const,
    buckets: LONG_SECONDS,
    registers: [this.registry],
  });

  readonly attempts = new Counter({
    name: 'devteam_attempts_total',
    help: 'Implement attempts started (first attempts and retries)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly agentTokens = new Counter({
    name: 'devteam_agent_tokens_total',
    help: 'Tokens the coding agents reported using, by kind (input, output); unreported usage is not counted',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly agentCost = new Counter({
    name: 'devteam_agent_cost_usd_total',
    help: 'US dollars the coding agents reported spending; unreported cost is not counted',
    registers: [this.registry],
  });

  /** Adds newly reported usage (figures of a run only go up, so every delta is ≥ 0). */
  countAgentUsage(delta: { inputTokens: number | null; outputTokens: number | null; costUsd: number | null }): void {
    if (delta.inputTokens) this.agentTokens.inc({ kind: 'input' }, delta.inputTokens);
    if (delta.outputTokens) this.agentTokens.inc({ kind: 'output' }, delta.outputTokens);
    if (delta.costUsd) this.agentCost.inc(delta.costUsd);
  }

  readonly runs = new Counter({
    name: 'devteam_runs_total',
    help: 'Executions that reached a final status, by status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly ownership = new Counter({
    name: 'devteam_lease_acquisitions_total',
    help: 'Projects this worker took ownership of: "new" (never driven) or "takeover" (a previous owner existed: crash, shutdown or a resume)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly leaseLost = new Counter({
    name: 'devteam_lease_lost_total',
    help: 'Projects this worker gave up because another owner took them (fenced or renewal refused)',
    registers: [this.registry],
  });

  readonly wsConnections = new Gauge({
    name: 'devteam_ws_connections',
    help: 'Open /ws/devteam connections',
    registers: [this.registry],
  });

  readonly wsFramesSent = new Counter({
    name: 'devteam_ws_frames_sent_total',
    help: 'Frames sent to /ws/devteam clients (one per client)',
    registers: [this.registry],
  });

  readonly wsFramesDropped = new Counter({
    name: 'devteam_ws_frames_dropped_total',
    help: 'Frames not delivered because a client passed the backpressure limit (it is disconnected)',
    registers: [this.registry],
  });

  readonly webhookTries = new Counter({
    name: 'devteam_webhook_tries_total',
    help: 'Webhook POSTs tried, by result: "delivered" (a 2xx) or "failed" (anything else; retried until the delivery expires)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly admissionWaiting = new Gauge({
    name: 'devteam_admission_waiting',
    help: 'Steps of this worker queued for a slot (build, sandbox_start), all tenants',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly admissionWait = new Histogram({
    name: 'devteam_admission_wait_seconds',
    help: 'How long a step that had to queue waited for its slot (build, sandbox_start)',
    labelNames: ['kind'] as const,
    buckets: LONG_SECONDS,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'devteam_' });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
