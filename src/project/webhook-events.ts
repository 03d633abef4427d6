// The events a project's webhook can be sent, by name (the X-DevTeam-Event header and `event` in
// the body). Each is derived from a persisted transition of the project machine, once per transition.
export const WEBHOOK_EVENTS = ['task.done', 'task.failed', 'run.completed', 'run.failed', 'run.stopped'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
