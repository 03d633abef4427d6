// The DevTeam-Task trailer: written on the task commit by MERGE, read back by SELECT with one git
// run — git's trailer rules decide (last paragraph, case-insensitive key), newest commit wins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergedTasks, RepoError, withTaskTrailers } from '../../src/infra/repo/index.js';
import { gitWork, initCheckout } from '../support/git-remote.js';
import { tempDir } from '../support/services.js';

describe('task trailers', () => {
  let dir: { path: string; remove(): Promise<void> };
  let repoDir: string;
  const commit = async (message: string) => {
    await gitWork(repoDir, 'commit', '--quiet', '--allow-empty', '-m', message);
    return gitWork(repoDir, 'rev-parse', 'HEAD');
  };

  beforeAll(async () => {
    dir = await tempDir('devteam-trailers');
    repoDir = await initCheckout(dir.path);
  });

  afterAll(async () => {
    await dir?.remove();
  });

  it('are the last paragraph of the message, after what the runner wrote', () => {
    expect(withTaskTrailers('Task 1.1: one\n\nImplemented.\n', { taskId: '1.1', executionId: 'e-1' })).toBe(
      'Task 1.1: one\n\nImplemented.\n\nDevTeam-Task: 1.1\nDevTeam-Execution: e-1\n',
    );
    expect(() => withTaskTrailers('x', { taskId: '1.1\nDevTeam-Task: 2.1', executionId: 'e' })).toThrow(RepoError);
    expect(() => withTaskTrailers('x', { taskId: '1.1', executionId: '' })).toThrow(RepoError);
  });

  it('are read back by task id with the newest commit naming it; a key in the body or another key does not count', async () => {
    expect(await mergedTasks(repoDir, 'HEAD').catch((e: unknown) => e)).toBeInstanceOf(RepoError); // no commit yet
    const first = await commit(withTaskTrailers('Task 1.1: one\n\nImplemented.', { taskId: '1.1', executionId: 'e-1' }));
    await commit('Task 1.2 notes\n\nDevTeam-Task: 1.2 is mentioned here, mid-paragraph\nand this paragraph is not trailers.\n\nThe end.');
    await commit('Unrelated\n\nReviewed-by: Someone <s@example.com>');
    const byHand = await commit('Two tasks by hand\n\nDevTeam-Task: 2.2\nSigned-off-by: A <a@example.com>\nDevTeam-Task: 2.3');
    const lowerCase = await commit('One by hand, key in lower case\n\ndevteam-task: 2.1');
    const again = await commit(withTaskTrailers('Task 1.1: one (again)', { taskId: '1.1', executionId: 'e-2' }));
    const merged = await mergedTasks(repoDir, 'HEAD');
    expect(Object.fromEntries(merged)).toEqual({ '1.1': again, '2.1': lowerCase, '2.2': byHand, '2.3': byHand });
    expect(Object.fromEntries(await mergedTasks(repoDir, `${byHand}~1`))).toEqual({ '1.1': first });
  });
});
