// Where a project's clone lives: <root>/<tenant>/<project>/repo (the work tree, the only part a
// sandbox sees) and <root>/<tenant>/<project>/git (its git directory, never mounted anywhere), with
// every component validated so that no input can reach outside the cache root or into another
// tenant's directory.
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { RepoError } from './git-errors.js';

const TENANT = /^[A-Za-z0-9_-]{1,64}$/;
const PROJECT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface ProjectPaths {
  projectDir: string;
  /** The work tree: files only. A `.git` in it is the agent's, never the runner's. */
  repoDir: string;
  /** The runner's git directory, beside the work tree and outside every sandbox. */
  gitDir: string;
}

/** The git directory of a work tree laid out by projectPaths. */
export function gitDirOf(repoDir: string): string {
  return join(dirname(resolve(repoDir)), 'git');
}

export function isValidTenant(tenant: unknown): tenant is string {
  return typeof tenant === 'string' && TENANT.test(tenant);
}

export function isValidProjectId(projectId: unknown): projectId is string {
  return typeof projectId === 'string' && PROJECT.test(projectId) && !projectId.includes('..');
}

export function projectPaths(root: string, tenant: string, projectId: string): ProjectPaths {
  if (typeof root !== 'string' || !isAbsolute(root)) throw invalid('root', root, 'must be an absolute path');
  if (!isValidTenant(tenant)) throw invalid('tenant', tenant, 'must match [A-Za-z0-9_-]{1,64}');
  if (!isValidProjectId(projectId)) throw invalid('projectId', projectId, 'must match [A-Za-z0-9][A-Za-z0-9._-]{0,127} without ".."');
  const base = resolve(root);
  const projectDir = resolve(base, tenant, projectId);
  // Belt and braces over the patterns: exactly two components below the root.
  const rel = relative(base, projectDir);
  if (!rel || isAbsolute(rel) || rel.startsWith('..') || rel.split(sep).length !== 2) {
    throw invalid('projectId', projectId, 'leads outside the cache root');
  }
  return { projectDir, repoDir: join(projectDir, 'repo'), gitDir: join(projectDir, 'git') };
}

function invalid(field: string, value: unknown, reason: string): RepoError {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : String(value);
  return new RepoError('invalid_path', `${field} ${shown} ${reason}`, { field });
}
