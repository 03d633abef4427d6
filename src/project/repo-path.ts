// A path inside the repository given by a user (tasks.path): relative, never leaving the checkout,
// and never readable by a tool as an option.
import { textProblem } from './storable-text.js';

export const MAX_REPO_PATH_LENGTH = 512;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `path` is not a safe repository-relative path, or null. */
export function repoPathProblem(path: string): string | null {
  if (path === '') return 'must not be empty';
  if (path.length > MAX_REPO_PATH_LENGTH) return `must be at most ${MAX_REPO_PATH_LENGTH} characters`;
  if (textProblem(path) || CONTROL.test(path)) return 'must not contain control characters, U+0000 or unpaired surrogates';
  if (path.includes('\\')) return 'must use "/" as the separator (no backslash)';
  if (path.startsWith('/')) return 'must be relative to the repository root (no leading "/")';
  const parts = path.split('/');
  if (parts.some((p) => p === '..')) return 'must stay inside the repository (no "..")';
  if (parts.some((p) => p === '')) return 'must not contain empty parts ("//" or a trailing "/")';
  const dashed = parts.find((p) => p.startsWith('-'));
  if (dashed !== undefined) return `no part may start with "-" ("${dashed}")`;
  return null;
}
