import { describe, expect, it } from 'vitest';
import { initializeBodySchema, initializePolicyIssues } from '../../src/project/index.js';

const fields = (body: unknown) => {
  const r = initializeBodySchema.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

describe('initialize body', () => {
  it('needs only projectId and repository.url, and fills the documented defaults', () => {
    const parsed = initializeBodySchema.parse({ projectId: 'acme-web', repository: { url: 'https://git.example.com/acme/web.git' } });
    expect(parsed).toEqual({
      projectId: 'acme-web',
      repository: { url: 'https://git.example.com/acme/web.git', branch: 'main' },
      agent: { preset: 'aider', args: [], timeoutSec: 900, stallSec: 300 },
      verify: { commands: [['npm', 'ci'], ['npm', 'run', 'build']], timeoutSec: 600, stallSec: 300 },
      merge: { mode: 'ff' },
      // Tasks whose DevTeam-Task trailer is on the base branch are skipped.
      restart: 'continue',
      // Left to the operator's defaults (DEVTEAM_LIMIT_CPUS / DEVTEAM_LIMIT_MEMORY_MB), applied by the steps.
      limits: {},
    });
  });

  it('accepts the full example of the design', () => {
    expect(
      fields({
        projectId: 'acme-web',
        repository: { url: 'https://git.example.com/acme/web.git', branch: 'main', credentials: { tokenEnv: 'DEVTEAM_SECRET_ACME__GIT_TOKEN' } },
        tasks: { path: 'ai_docs/tasks/task_list.md' },
        agent: { preset: 'claude-code', model: 'sonnet', args: ['--verbose'], timeoutSec: 900 },
        verify: { commands: [['npm', 'ci'], ['npm', 'run', 'build']], timeoutSec: 600, stallSec: 300 },
        limits: { cpus: 1, memoryMb: 1024 },
      }),
    ).toEqual([]);
  });

  it('takes a run budget, a per-task cost limit and stall periods of 5 s at least, naming a wrong field', () => {
    const base = { projectId: 'p', repository: { url: 'https://git.example.com/x.git' } };
    const body = initializeBodySchema.parse({ ...base, budget: { maxCostUsd: 2.5, maxTokens: 500, maxMinutes: 30 }, agent: { maxCostUsdPerTask: 1, stallSec: 5 }, verify: { stallSec: 60 } });
    expect(body.budget).toEqual({ maxCostUsd: 2.5, maxTokens: 500, maxMinutes: 30 });
    expect(body.agent).toMatchObject({ maxCostUsdPerTask: 1, stallSec: 5 });
    expect(body.verify.stallSec).toBe(60);
    expect(initializeBodySchema.parse(base).budget).toBeUndefined();
    expect(fields({ ...base, agent: { stallSec: 4 } })).toEqual(['agent.stallSec']);
    expect(fields({ ...base, verify: { stallSec: 0 } })).toEqual(['verify.stallSec']);
    expect(fields({ ...base, budget: { maxTokens: -1 } })).toEqual(['budget.maxTokens']);
    expect(fields({ ...base, budget: { maxDollars: 1 } })).toEqual(['budget']);
    expect(fields({ ...base, agent: { maxCostUsdPerTask: 0 } })).toEqual(['agent.maxCostUsdPerTask']);
  });

  it('takes restart "continue" or "all" and names the field of any other value', () => {
    const base = { projectId: 'p', repository: { url: 'https://git.example.com/x.git' } };
    expect(initializeBodySchema.parse({ ...base, restart: 'all' }).restart).toBe('all');
    expect(initializeBodySchema.parse({ ...base, restart: 'continue' }).restart).toBe('continue');
    expect(fields({ ...base, restart: 'sometimes' })).toEqual(['restart']);
    expect(fields({ ...base, restart: true })).toEqual(['restart']);
  });

  it('names every wrong field', () => {
    expect(fields({})).toEqual(expect.arrayContaining(['projectId', 'repository']));
    expect(fields({ projectId: 'p', repository: { url: 'https://u:secret@git.example.com/x.git' } })).toEqual(['repository.url']);
    expect(fields({ projectId: 'p', repository: { url: 'not a url' } })).toEqual(['repository.url']);
    expect(fields({ projectId: 'p', repository: { url: 'file:///srv/x.git', branch: 'a..b' } })).toEqual(['repository.branch']);
    expect(fields({ projectId: 'p', repository: { url: 'file:///srv/x.git', credentials: { token: 'ghp_x' } } })).toEqual(
      expect.arrayContaining(['repository.credentials']),
    );
    expect(fields({ projectId: 'p', repository: { url: 'file:///srv/x.git' }, tasks: { path: '../etc/passwd' } })).toEqual(['tasks.path']);
    expect(fields({ projectId: 'p', repository: { url: 'file:///srv/x.git' }, agent: { preset: 'command' } })).toEqual(['agent.command']);
    expect(fields({ projectId: 'p', repository: { url: 'file:///srv/x.git' }, verify: { commands: [[]] } })).toEqual(['verify.commands.0']);
    expect(fields({ projectId: 'p', repository: { url: 'file:///srv/x.git' }, limits: { memoryMb: 1 } })).toEqual(['limits.memoryMb']);
    expect(fields({ projectId: 'p', repository: { url: 'file:///srv/x.git' }, surprise: true })).toEqual(['']);
  });

  it('names the field of a branch, path or URL that git or the store would refuse', () => {
    expect(fields({ projectId: 'p', repository: { url: 'https://h/x.git', branch: 'x.lock' } })).toEqual(['repository.branch']);
    expect(fields({ projectId: 'p', repository: { url: 'https://h/x.git', branch: '-x' } })).toEqual(['repository.branch']);
    expect(fields({ projectId: 'p', repository: { url: 'ext::sh -c x' } })).toEqual(['repository.url']);
    expect(fields({ projectId: 'p', repository: { url: 'https://h/x.git' }, tasks: { path: 'docs/-x.md' } })).toEqual(['tasks.path']);
    expect(fields({ projectId: 'p', repository: { url: 'https://h/x.git', credentials: { tokenEnv: 'lower' } } })).toEqual(['repository.credentials.tokenEnv']);
  });
});

describe('initialize policy (who asks, what the operator allows)', () => {
  const body = (over: Record<string, unknown> = {}, repository: Record<string, unknown> = {}) =>
    initializeBodySchema.parse({ projectId: 'p', ...over, repository: { url: 'https://git.example.com/x.git', ...repository } });

  it("allows secret references only in the caller's namespace, naming the field and the prefix", () => {
    expect(initializePolicyIssues(body({ agent: { keyEnv: 'DEVTEAM_SECRET_ACME_EU__MODEL' } }, { credentials: { tokenEnv: 'DEVTEAM_SECRET_ACME_EU__GIT' } }), { tenant: 'acme-eu' })).toEqual([]);
    const issues = initializePolicyIssues(body({ agent: { keyEnv: 'ANTHROPIC_API_KEY' } }, { credentials: { tokenEnv: 'DEVTEAM_API_KEYS' } }), { tenant: 'acme-eu' });
    expect(issues.map((i) => i.field)).toEqual(['repository.credentials.tokenEnv', 'agent.keyEnv']);
    expect(issues[0]!.message).toContain('DEVTEAM_SECRET_ACME_EU__');
    expect(initializePolicyIssues(body({}, { credentials: { tokenEnv: 'DEVTEAM_SECRET_ACME__GIT' } }), { tenant: 'beta' })).toHaveLength(1);
  });

  it('allows file remotes only inside the roots the operator opened', () => {
    const file = body({}, { url: 'file:///srv/git/x.git' });
    expect(initializePolicyIssues(file, { tenant: 'acme' })).toEqual([{ field: 'repository.url', message: expect.stringContaining('DEVTEAM_FILE_REMOTE_ROOTS') }]);
    expect(initializePolicyIssues(file, { tenant: 'acme', fileRemotes: { roots: ['/srv/git'], forbidden: ['/srv/git/data'] } })).toEqual([]);
    expect(initializePolicyIssues(body({}, { url: 'file:///srv/git/data/x' }), { tenant: 'acme', fileRemotes: { roots: ['/srv/git'], forbidden: ['/srv/git/data'] } })).toHaveLength(1);
  });
});
