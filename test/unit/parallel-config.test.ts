// The pure pieces of parallelism (decision 0028): the initialize field, how a project's limits
// divide among its lanes, a lane's sandbox name, and which tasks SELECT hands to free lanes.
import { describe, expect, it } from 'vitest';
import { initializeBodySchema, laneLimits, MAX_PARALLELISM } from '../../src/project/index.js';
import { sandboxName } from '../../src/infra/sandbox/index.js';
import { gitDirOf, lanePaths } from '../../src/infra/repo/index.js';
import { parseTaskList, selectReadyTasks } from '../../src/infra/tasks/index.js';
import { executionUpdate, ExecutionUpdateSchema, formatFrame } from '../../src/client/index.js';

const base = { projectId: 'p', repository: { url: 'https://git.example.com/x.git' } };

describe('parallelism', () => {
  it('is optional (1), an integer from 1 to MAX_PARALLELISM, and names its field otherwise', () => {
    expect(initializeBodySchema.parse(base).parallelism).toBeUndefined();
    expect(initializeBodySchema.parse({ ...base, parallelism: 4 }).parallelism).toBe(4);
    for (const bad of [0, MAX_PARALLELISM + 1, 1.5, '2']) {
      const parsed = initializeBodySchema.safeParse({ ...base, parallelism: bad });
      expect(parsed.success).toBe(false);
      expect(parsed.error!.issues[0]!.path).toEqual(['parallelism']);
    }
  });

  it('splits the project limits evenly among its lanes, never below the smallest memory', () => {
    expect(laneLimits({ cpus: 2, memoryMb: 2048 }, 1)).toEqual({ cpus: 2, memoryMb: 2048 });
    expect(laneLimits({ cpus: 2, memoryMb: 2048 }, 4)).toEqual({ cpus: 0.5, memoryMb: 512 });
    expect(laneLimits({ cpus: 1, memoryMb: 100 }, 4)).toEqual({ cpus: 0.25, memoryMb: 64 });
  });

  it('gives each lane a sandbox name of its own and keeps the project’s unchanged', () => {
    const project = sandboxName('devteam', 't', 'p');
    expect(project).toMatch(/^devteam-t-p-[0-9a-f]{8}$/);
    const lanes = [0, 1, 2].map((l) => sandboxName('devteam', 't', 'p', l));
    expect(new Set([project, ...lanes]).size).toBe(4);
    expect(lanes[1]).toMatch(/^devteam-t-p-l1-[0-9a-f]{8}$/);
    expect(() => sandboxName('devteam', 't', 'p', -1)).toThrow(/lane/);
  });

  it('puts a lane’s git directory inside the project’s, outside its work tree', () => {
    const paths = lanePaths('/data/repos', 't', 'p', 3);
    expect(paths).toEqual({ repoDir: '/data/repos/t/p/lanes/lane-3', gitDir: '/data/repos/t/p/git/worktrees/lane-3', commonGitDir: '/data/repos/t/p/git' });
    expect(gitDirOf(paths.repoDir)).toBe(paths.gitDir);
    expect(gitDirOf('/data/repos/t/p/repo')).toBe('/data/repos/t/p/git');
    // A project named "lanes" is not a lane.
    expect(gitDirOf('/data/repos/t/lanes/repo')).toBe('/data/repos/t/lanes/git');
  });

  it('selects every ready task that is not running, in list order, at most the free lanes', () => {
    const list = parseTaskList(
      [
        'Phase 1: Work (Dependencies: [])',
        '',
        '- 1.1 a (Dependencies: [])',
        '- 1.2 b (Dependencies: [1.1])',
        '- 1.3 c (Dependencies: [])',
        '- 1.4 d (Dependencies: [])',
        '',
      ].join('\n'),
    );
    const ids = (r: ReturnType<typeof selectReadyTasks>) => r.tasks.map((t) => t.id);
    expect(ids(selectReadyTasks(list, new Set(), { exclude: new Set(), limit: 8 }))).toEqual(['1.1', '1.3', '1.4']);
    expect(ids(selectReadyTasks(list, new Set(), { exclude: new Set(['1.1']), limit: 1 }))).toEqual(['1.3']);
    expect(ids(selectReadyTasks(list, new Set(['1.1']), { exclude: new Set(['1.3', '1.4']), limit: 8 }))).toEqual(['1.2']);
    const none = selectReadyTasks(list, new Set(['1.3', '1.4']), { exclude: new Set(['1.1']), limit: 8 });
    expect(none.tasks).toEqual([]);
    expect(none.selection).toMatchObject({ task: null, reason: 'blocked' });
  });
});

describe('the tasks in flight on the stream', () => {
  const running = [
    { id: '1.1', title: 'a', phase: 'reverify', attempt: 1 },
    { id: '1.3', title: 'c', phase: 'implement', attempt: 2 },
  ];
  const projection = { status: 'running' as const, phase: 'reverify', currentTask: { id: '1.1', title: 'a' }, attempt: 1, progress: { done: 1, total: 4 }, lastError: null };

  it('are in the execution-update frame when the status has them, and absent otherwise', () => {
    const update = executionUpdate('e1', { ...projection, running });
    expect(ExecutionUpdateSchema.parse(update).running).toEqual(running);
    expect('running' in executionUpdate('e1', projection)).toBe(false);
  });

  it('are printed by devteam watch after the first task', () => {
    const line = formatFrame({ type: 'execution-update', ts: 0, projectId: 'p', seq: 3, executionId: 'e1', payload: executionUpdate('e1', { ...projection, running }) });
    expect(line).toContain('task 1.1 "a"');
    expect(line).toContain('also 1.3:implement#2');
  });
});
