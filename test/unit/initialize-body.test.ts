import { describe, expect, it } from 'vitest';
import { initializeBodySchema } from '../../src/http/initialize-body.js';

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
      agent: { preset: 'aider', args: [], timeoutSec: 900 },
      verify: { commands: [['npm', 'ci'], ['npm', 'run', 'build']], timeoutSec: 600 },
      merge: { mode: 'ff' },
      limits: { cpus: 1, memoryMb: 1024 },
    });
  });

  it('accepts the full example of the design', () => {
    expect(
      fields({
        projectId: 'acme-web',
        repository: { url: 'https://git.example.com/acme/web.git', branch: 'main', credentials: { tokenEnv: 'ACME_GIT_TOKEN' } },
        tasks: { path: 'ai_docs/tasks/task_list.md' },
        agent: { preset: 'claude-code', model: 'sonnet', args: ['--verbose'], timeoutSec: 900 },
        verify: { commands: [['npm', 'ci'], ['npm', 'run', 'build']], timeoutSec: 600 },
        limits: { cpus: 1, memoryMb: 1024 },
      }),
    ).toEqual([]);
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
});
