// The three forges' pull-request endpoints. Each: find an open one for head → base; else create
// it; a create refused as a duplicate (a concurrent or earlier try won) is answered by finding it.
// GitHub: POST /repos/{o}/{r}/pulls, duplicate → 422. GitLab: POST /projects/{path}/merge_requests,
// duplicate → 409. Gitea: POST /repos/{o}/{r}/pulls, duplicate → 409.
import { ForgeError, type Forge, type ForgeType, type PullRequest, type PullRequestRequest } from './forge.js';
import { forgeCall } from './forge-http.js';

export interface ForgeTarget {
  /** The API root, e.g. https://api.github.com, https://gitlab.example.com/api/v4. */
  apiUrl: string;
  /** The repository's path on the forge: `owner/name` (GitLab: `group/sub/name`). */
  repoPath: string;
  token: string;
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');
const asPr = (number: unknown, url: unknown, created: boolean, forge: ForgeType): PullRequest => {
  if (typeof number !== 'number' || typeof url !== 'string') throw new ForgeError('forge_refused', `${forge} API answered without a pull request number and URL`, { forge });
  return { number, url, created };
};

/** GitHub and Gitea share the endpoint and its fields; they differ in auth, the duplicate status and the lookup. */
abstract class PullsForge implements Forge {
  abstract readonly type: ForgeType;
  protected abstract readonly duplicateStatus: number;
  protected abstract readonly auth: Record<string, string>;

  constructor(protected readonly target: ForgeTarget) {}

  protected get repoUrl(): string {
    return `${trimSlash(this.target.apiUrl)}/repos/${this.target.repoPath.split('/').map(encodeURIComponent).join('/')}`;
  }

  protected abstract findOpen(req: PullRequestRequest): Promise<PullRequest | null>;

  async ensurePullRequest(req: PullRequestRequest): Promise<PullRequest> {
    const open = await this.findOpen(req);
    if (open) return open;
    const { status, json } = await forgeCall(
      { forge: this.type, method: 'POST', url: `${this.repoUrl}/pulls`, headers: this.auth, body: { title: req.title, head: req.head, base: req.base, body: req.body }, signal: req.signal },
      [this.duplicateStatus],
    );
    if (status === this.duplicateStatus) {
      const existing = await this.findOpen(req);
      if (existing) return existing;
      throw new ForgeError('forge_refused', `${this.type} API refused the pull request (${status}) and none is open for ${req.head}`, { forge: this.type, status });
    }
    const pr = json as { number?: unknown; html_url?: unknown };
    return asPr(pr.number, pr.html_url, true, this.type);
  }
}

export class GitHubForge extends PullsForge {
  readonly type = 'github' as const;
  protected readonly duplicateStatus = 422;
  protected get auth() {
    return { authorization: `Bearer ${this.target.token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
  }

  protected async findOpen(req: PullRequestRequest): Promise<PullRequest | null> {
    const owner = this.target.repoPath.split('/')[0]!;
    const query = new URLSearchParams({ head: `${owner}:${req.head}`, base: req.base, state: 'open' });
    const { json } = await forgeCall({ forge: this.type, method: 'GET', url: `${this.repoUrl}/pulls?${query}`, headers: this.auth, signal: req.signal });
    const first = Array.isArray(json) ? (json[0] as { number?: unknown; html_url?: unknown } | undefined) : undefined;
    return first ? asPr(first.number, first.html_url, false, this.type) : null;
  }
}

export class GiteaForge extends PullsForge {
  readonly type = 'gitea' as const;
  protected readonly duplicateStatus = 409;
  protected get auth() {
    return { authorization: `token ${this.target.token}` };
  }

  protected async findOpen(req: PullRequestRequest): Promise<PullRequest | null> {
    // Gitea's list has no head filter: page through the open ones (a project has few).
    for (let page = 1; page <= 20; page++) {
      const query = new URLSearchParams({ state: 'open', page: String(page), limit: '50' });
      const { json } = await forgeCall({ forge: this.type, method: 'GET', url: `${this.repoUrl}/pulls?${query}`, headers: this.auth, signal: req.signal });
      const list = Array.isArray(json) ? (json as Array<{ number?: unknown; html_url?: unknown; head?: { ref?: unknown }; base?: { ref?: unknown } }>) : [];
      const found = list.find((p) => p.head?.ref === req.head && p.base?.ref === req.base);
      if (found) return asPr(found.number, found.html_url, false, this.type);
      if (list.length < 50) return null;
    }
    return null;
  }
}

export class GitLabForge implements Forge {
  readonly type = 'gitlab' as const;

  constructor(private readonly target: ForgeTarget) {}

  private get projectUrl(): string {
    return `${trimSlash(this.target.apiUrl)}/projects/${encodeURIComponent(this.target.repoPath)}`;
  }

  private get auth() {
    return { 'private-token': this.target.token };
  }

  private async findOpen(req: PullRequestRequest): Promise<PullRequest | null> {
    const query = new URLSearchParams({ source_branch: req.head, target_branch: req.base, state: 'opened' });
    const { json } = await forgeCall({ forge: this.type, method: 'GET', url: `${this.projectUrl}/merge_requests?${query}`, headers: this.auth, signal: req.signal });
    const first = Array.isArray(json) ? (json[0] as { iid?: unknown; web_url?: unknown } | undefined) : undefined;
    return first ? asPr(first.iid, first.web_url, false, this.type) : null;
  }

  async ensurePullRequest(req: PullRequestRequest): Promise<PullRequest> {
    const open = await this.findOpen(req);
    if (open) return open;
    const { status, json } = await forgeCall(
      {
        forge: this.type,
        method: 'POST',
        url: `${this.projectUrl}/merge_requests`,
        headers: this.auth,
        body: { source_branch: req.head, target_branch: req.base, title: req.title, description: req.body },
        signal: req.signal,
      },
      [409],
    );
    if (status === 409) {
      const existing = await this.findOpen(req);
      if (existing) return existing;
      throw new ForgeError('forge_refused', `gitlab API refused the merge request (409) and none is open for ${req.head}`, { forge: this.type, status });
    }
    const mr = json as { iid?: unknown; web_url?: unknown };
    return asPr(mr.iid, mr.web_url, true, this.type);
  }
}

/** The forge client for a project: its type, API root (or the default for the repository's host) and token. */
export function createForge(type: ForgeType, target: ForgeTarget): Forge {
  if (type === 'github') return new GitHubForge(target);
  if (type === 'gitlab') return new GitLabForge(target);
  return new GiteaForge(target);
}

/** The API root a forge of this type serves for a repository on `host` (when the project names none). */
export function defaultApiUrl(type: ForgeType, host: string): string {
  if (type === 'github') return host === 'github.com' ? 'https://api.github.com' : `https://${host}/api/v3`;
  if (type === 'gitlab') return `https://${host}/api/v4`;
  return `https://${host}/api/v1`;
}
