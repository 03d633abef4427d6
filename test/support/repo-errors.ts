// Awaits a promise that must reject with a RepoError, and returns the error for assertions.
import { expect } from 'vitest';
import { RepoError } from '../../src/infra/repo/index.js';

export async function caughtRepoError(promise: Promise<unknown>): Promise<RepoError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RepoError);
    return error as RepoError;
  }
  throw new Error('expected a RepoError');
}
