// The REST calls the dashboard makes (the public API, as any client), with the API key as the
// bearer header. A failed call throws ApiProblem, carrying the error body's code and details.
import { apiKey } from './auth.js';

export interface FieldIssue {
  field: string;
  message: string;
}

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** The field-level issues of a 422 validation_failed. */
  get fields(): FieldIssue[] {
    return Array.isArray(this.details) ? (this.details as FieldIssue[]).filter((d) => typeof d?.field === 'string') : [];
  }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const key = apiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiProblem(0, 'network', `the service did not answer: ${(error as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below by status
  }
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    throw new ApiProblem(res.status, error?.code ?? 'http_error', error?.message ?? `HTTP ${res.status}`, error?.details);
  }
  return parsed as T;
}

const AUTOMATION = '/api/devteam/automation';
const seg = encodeURIComponent;

/** The status body of GET /status (and of each listed project / execution). */
export interface StatusBody {
  projectId: string;
  executionId: string;
  status: string;
  phase: string | null;
  currentTask: { id: string; title: string } | null;
  progress: { done: number; total: number };
  attempt: number;
  lastError: string | null;
  results: Record<string, TaskResult>;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  [more: string]: unknown;
}

export interface TaskResult {
  status: string;
  reason?: string;
  attempts: number;
  commit: string | null;
  error: string | null;
  finishedAt: string;
}

export interface Artifact {
  id: string;
  taskId: string;
  attempt: number;
  kind: 'prompt' | 'diff' | 'agent-output' | 'verify-output' | 'files';
  bytes: number;
  bytesTotal: number;
  truncated: boolean;
  meta: Record<string, unknown>;
  createdAt: string;
  content?: string;
}

export const api = {
  projects: (query: { status?: string; cursor?: string; limit?: number } = {}) => {
    const q = new URLSearchParams();
    if (query.status) q.set('status', query.status);
    if (query.cursor) q.set('cursor', query.cursor);
    if (query.limit) q.set('limit', String(query.limit));
    const qs = q.toString();
    return call<{ projects: StatusBody[]; nextCursor: string | null }>('GET', `${AUTOMATION}/projects${qs ? `?${qs}` : ''}`);
  },
  /** Every page of the listing. */
  async allProjects(status?: string): Promise<StatusBody[]> {
    const all: StatusBody[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.projects({ status, cursor, limit: 200 });
      all.push(...page.projects);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return all;
  },
  status: (projectId: string) => call<StatusBody>('GET', `${AUTOMATION}/status/${seg(projectId)}`),
  executions: (projectId: string) => call<{ executions: StatusBody[]; nextCursor: string | null }>('GET', `${AUTOMATION}/projects/${seg(projectId)}/executions?limit=20`),
  artifacts: (executionId: string, query: { taskId?: string; content?: boolean } = {}) => {
    const q = new URLSearchParams();
    if (query.taskId) q.set('taskId', query.taskId);
    if (query.content) q.set('content', '1');
    return call<{ artifacts: Artifact[] }>('GET', `${AUTOMATION}/executions/${seg(executionId)}/artifacts?${q}`);
  },
  command: (command: 'pause' | 'resume' | 'stop', projectId: string) => call<{ status: string }>('POST', `${AUTOMATION}/${command}/${seg(projectId)}`),
  initialize: (body: unknown) => call<{ executionId: string; projectId: string }>('POST', `${AUTOMATION}/initialize`, body),
};
