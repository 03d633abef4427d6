export { DEVTEAM_AUTOMATION, EVENTS_QUEUE, type EventJob, type EventQueue } from '../app/event-job.js';
export { WorkflowRegistry, type Workflow, type WorkflowResult, type WorkflowRun } from './workflow-registry.js';
export { devteamAutomation, PIPELINE } from './devteam-automation.js';
export { startEventWorker, handleEventJob, type EventWorkerDeps } from './event-worker.js';
export { OutboxDispatcher, type OutboxDeps } from './outbox-dispatcher.js';
export { defaultRegistry } from './workflows.js';
export { Janitor, type JanitorOptions, type SweepResult } from './janitor.js';
export { ProjectHost, EXECUTIONS_CHANNEL, type ExecutionNotice, type ProjectHostOptions } from './project-host.js';
export { ProjectRun, leaseKey, type ProjectRunDeps, type RunEnd } from './project-run.js';
