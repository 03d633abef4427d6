// The use cases every front calls (uWS routes, the WS stream, the CLI, a bench front).
export { readStatus, statusBody, type ReadStatusDeps, type StatusBodyCache } from './read-status.js';
export { applyCommand, PROJECT_COMMANDS, type AppliedCommand, type ApplyCommandDeps, type CommandRequest } from './apply-command.js';
export { listArtifacts, type ArtifactsListing, type ArtifactsRequest, type ListArtifactsDeps } from './list-artifacts.js';
export { listDeliveries, type DeliveriesListing, type ListDeliveriesDeps } from './list-deliveries.js';
export { admitProject, gapsOf, type AdmissionDeps, type Gap } from './admit-project.js';
export {
  listExecutions,
  listProjects,
  projectsCursor,
  type ExecutionsPage,
  type ExecutionsRequest,
  type ListProjectsDeps,
  type ProjectsPage,
  type ProjectsRequest,
  type StatusBody,
} from './list-projects.js';
