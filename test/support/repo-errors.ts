// Helpers of the repository tests: awaiting a RepoError, and listing every file of a checkout
// (to prove a token was written nowhere).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
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

export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
