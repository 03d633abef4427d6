// The tenant's projects with the status projection of each one's latest execution (the body of
// GET /status for each), in project id order, a page at a time; and one project's earlier runs.
import type { ExecutionsStore, ExecutionStatus } from '../infra/db/index.js';
import { ApiError, validationFailed } from './errors.js';
import { statusBody } from './read-status.js';
import { storeCall } from './store-call.js';

export interface ListProjectsDeps {
  executions: ExecutionsStore;
}

export interface ProjectsRequest {
  tenant: string;
  status?: ExecutionStatus;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
  limit: number;
}

export type StatusBody = ReturnType<typeof statusBody>;

export interface ProjectsPage {
  projects: StatusBody[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/** The cursor is opaque to clients: the last project id of a page, base64url-encoded. */
export function projectsCursor(projectId: string): string {
  return btoa(String.fromCodePoint(...new TextEncoder().encode(projectId))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function projectAfter(cursor: string): string {
  try {
    const binary = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.codePointAt(0)!));
  } catch {
    throw validationFailed([{ field: 'cursor', message: 'not a cursor of this API' }]);
  }
}

export async function listProjects(deps: ListProjectsDeps, req: ProjectsRequest): Promise<ProjectsPage> {
  const after = req.cursor === undefined ? undefined : projectAfter(req.cursor);
  // One more than asked: whether a next page exists without a count query.
  const rows = await storeCall(() => deps.executions.listProjects(req.tenant, { status: req.status, after, limit: req.limit + 1 }));
  const page = rows.slice(0, req.limit);
  const bodies = page.map((execution) => statusBody(execution.projectId, execution));
  return { projects: bodies, nextCursor: rows.length > req.limit ? projectsCursor(page.at(-1)!.projectId) : null };
}

export interface ExecutionsRequest {
  tenant: string;
  projectId: string;
  /** The `nextCursor` of the previous page: an execution id of the project. */
  before?: string;
  limit: number;
}

export interface ExecutionsPage {
  projectId: string;
  executions: StatusBody[];
  nextCursor: string | null;
}

/** The project's executions newest first; 404 when the tenant has no such project. */
export async function listExecutions(deps: ListProjectsDeps, req: ExecutionsRequest): Promise<ExecutionsPage> {
  const rows = await storeCall(() => deps.executions.history(req.tenant, req.projectId, { before: req.before, limit: req.limit + 1 }));
  if (rows.length === 0 && req.before === undefined) throw new ApiError('not_found', `no automation for project ${req.projectId}`);
  const page = rows.slice(0, req.limit);
  return {
    projectId: req.projectId,
    executions: page.map((execution) => statusBody(req.projectId, execution)),
    nextCursor: rows.length > req.limit ? page.at(-1)!.id : null,
  };
}
