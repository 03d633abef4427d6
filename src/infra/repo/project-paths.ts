// Where a project's clone lives: <root>/<tenant>/<project>/repo (the work tree, the only part a
// sandbox sees) and <root>/<tenant>/<project>/git (its git directory, never mounted anywhere), with
// every component validated so that no input can reach outside the cache root or into another
// tenant's directory.
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
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

/** A lane's work tree is <project>/lanes/lane-<n> (see lanePaths). */
const LANE_DIR = /^lane-\d{1,2}$/;

/** The git directory of a work tree laid out by projectPaths, or of a lane's laid out by lanePaths. */
export function gitDirOf(repoDir: string): string {
  const dir = resolve(repoDir);
  if (LANE_DIR.test(basename(dir)) && basename(dirname(dir)) === 'lanes') return join(dirname(dirname(dir)), 'git', 'worktrees', basename(dir));
  return join(dirname(dir), 'git');
}

export interface LanePaths {
  /** The lane's work tree: files only, what the lane's sandbox mounts. */
  repoDir: string;
  /** Its per-worktree git directory, inside the project's git directory (outside every sandbox). */
  gitDir: string;
  /** The project's git directory, which the lane shares (objects, refs). */
  commonGitDir: string;
}

/**
 * Where lane `lane` of a project runs a task when its parallelism is above 1 (decision 0028): a
 * git worktree of the project's clone, beside the project's own work tree.
 */
export function lanePaths(root: string, tenant: string, projectId: string, lane: number): LanePaths {
  if (!Number.isInteger(lane) || lane < 0 || lane > 99) throw invalid('lane', lane, 'must be an integer from 0 to 99');
  const { projectDir, gitDir } = projectPaths(root, tenant, projectId);
  const name = `lane-${lane}`;
  return { repoDir: join(projectDir, 'lanes', name), gitDir: join(gitDir, 'worktrees', name), commonGitDir: gitDir };
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
