// Pull requests on a forge (GitHub, GitLab, Gitea) through its REST API: open one for a pushed
// work branch, or find the one already open for it — a step that runs again after a crash must not
// open a second. Only the far end differs per forge (paths, auth header, field names, the status
// of a duplicate); what the runner needs is this one call.

export const FORGE_TYPES = ['github', 'gitlab', 'gitea'] as const;
export type ForgeType = (typeof FORGE_TYPES)[number];

export interface PullRequestRequest {
  /** The pushed branch with the change (e.g. devteam/1.2). */
  head: string;
  /** Where it should be merged (the project's base branch). */
  base: string;
  title: string;
  body: string;
  signal?: AbortSignal;
}

export interface PullRequest {
  /** The number people use (`#12`, `!12`). */
  number: number;
  url: string;
  /** False when one was already open for the branch (a retried step). */
  created: boolean;
}

export class ForgeError extends Error {
  constructor(
    readonly code: 'forge_auth_failed' | 'forge_not_found' | 'forge_refused' | 'forge_unavailable',
    message: string,
    readonly details: { status?: number; forge: ForgeType } = { forge: 'github' },
  ) {
    super(message);
    this.name = 'ForgeError';
  }
}

export interface Forge {
  readonly type: ForgeType;
  ensurePullRequest(request: PullRequestRequest): Promise<PullRequest>;
}
