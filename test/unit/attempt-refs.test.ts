// Attempt ref names (decision 0025): built from the execution id, the task id and the attempt number,
// checked against git's ref-name rules, so no id can leave refs/devteam/ or read as an option.
import { describe, expect, it } from 'vitest';
import { attemptRef, attemptRefPrefix } from '../../src/infra/repo/index.js';

describe('attempt refs', () => {
  it('names refs/devteam/<execution>/<task>/<attempt>', () => {
    expect(attemptRef('0b7c6f8e-1d2a-4c3b-9e8f-0123456789ab', '1.2', 3)).toBe('refs/devteam/0b7c6f8e-1d2a-4c3b-9e8f-0123456789ab/1.2/3');
    expect(attemptRefPrefix('e', '1.2')).toBe('refs/devteam/e/1.2/');
  });

  it.each([
    ['a task id that climbs out', 'e', '../heads/main', 1],
    ['a task id with a slash', 'e', '1/2', 1],
    ['an option-like execution id', '--upload-pack=x', '1.1', 1],
    ['a lock-file component', 'e', 'x.lock', 1],
    ['a component starting with a dot', 'e', '.hidden', 1],
    ['a refspec character', 'e', '1:2', 1],
    ['a space', 'e', '1 2', 1],
    ['an attempt 0', 'e', '1.1', 0],
    ['a fractional attempt', 'e', '1.1', 1.5],
  ])('refuses %s', (_, executionId, taskId, attempt) => {
    expect(() => attemptRef(executionId, taskId, attempt)).toThrow(expect.objectContaining({ code: 'invalid_path' }));
  });
});
