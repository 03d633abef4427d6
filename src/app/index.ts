// The use cases every front calls (uWS routes, the WS stream, the CLI, a bench front).
export { readStatus, statusBody, type ReadStatusDeps, type StatusBodyCache } from './read-status.js';
