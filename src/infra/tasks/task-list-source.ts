// Where a run's task list comes from: the file inside the checkout, or this project's default
// template when the repository has none. Only reads: nothing is ever written into the repository.
import { constants, existsSync } from 'node:fs';
import { lstat, open, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, relative, sep, win32 } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTaskList } from './parse-task-list.js';
import type { TaskList } from '../../project/task-model.js';

/** Where the task list lives in a repository unless the project says otherwise. */
export const DEFAULT_TASK_LIST_PATH = 'ai_docs/tasks/task_list.md';
/** The template's place in this package, relative to its root. */
export const DEFAULT_TEMPLATE_PATH = 'ai_docs/templates/task_list.md';
/** The spec's own list is 30 KB; anything this large is not a task list, and is not buffered. */
export const MAX_TASK_LIST_BYTES = 1024 * 1024;
const READ_CHUNK_BYTES = 64 * 1024;

/** The configured path cannot be used: it is malformed or leads outside the checkout. */
export class TaskListPathError extends Error {
  readonly code = 'invalid_task_list_path' as const;
  constructor(
    readonly path: string,
    readonly repoDir: string,
    readonly reason: string,
  ) {
    super(`task list path ${JSON.stringify(path)} ${reason}`);
    this.name = 'TaskListPathError';
  }
}

/** The path is acceptable but the file (or the checkout, or the template) cannot be read. */
export class TaskListReadError extends Error {
  readonly code = 'task_list_unreadable' as const;
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`task list ${path} ${reason}`, options);
    this.name = 'TaskListReadError';
  }
}

export interface LoadTaskListOptions {
  /** The checkout the run works in. */
  repoDir: string;
  /** Relative to repoDir, `/`-separated; defaults to DEFAULT_TASK_LIST_PATH. */
  path?: string;
}

export interface LoadedTaskList {
  list: TaskList;
  origin: 'repository' | 'default-template';
  /** For `repository`, the normalised path inside the checkout; for the template, its absolute path. */
  path: string;
  /** sha256 (hex) of the bytes read, so a run can tell when the list changed under it. */
  sha256: string;
}

/**
 * Reads and parses the task list at `path` inside the checkout. A path that is absolute, uses
 * `..`, or resolves (through symbolic links) outside the checkout is refused with
 * TaskListPathError. When nothing is at the default path, the default template is read instead —
 * referenced, never copied into the repository; a configured path that is missing is an error. Parse failures throw TaskListError (`invalid_task_list`).
 */
export async function loadTaskList(opts: LoadTaskListOptions): Promise<LoadedTaskList> {
  const requested = opts.path ?? DEFAULT_TASK_LIST_PATH;
  const relPath = checkRelativePath(requested, opts.repoDir);

  let root: string;
  try {
    root = await realpath(opts.repoDir);
  } catch (error) {
    throw new TaskListReadError(relPath, `cannot be read: the checkout ${opts.repoDir} is not accessible`, { cause: error });
  }
  const candidate = join(root, relPath);
  const refuse = (reason: string): never => {
    throw new TaskListPathError(requested, opts.repoDir, reason);
  };

  let present: boolean;
  try {
    await lstat(candidate);
    present = true;
  } catch (error) {
    if (!isMissing(error)) throw new TaskListReadError(relPath, 'cannot be read', { cause: error });
    present = false;
  }

  if (!present) {
    // Absent, but the folders leading to it must not leave the checkout either: a symlinked
    // `ai_docs` pointing elsewhere is refused rather than silently replaced by the template.
    const ancestor = await realpathOfNearestExisting(dirname(candidate), root);
    if (!isInside(root, ancestor, true)) refuse('leads outside the checkout through a symbolic link');
    // Only the default location falls back to the template: a configured path that is missing is
    // most likely a typo, and silently running the template would hide it.
    if (relPath !== DEFAULT_TASK_LIST_PATH) {
      refuse('does not exist in the checkout (the default template is used only when the default path is absent)');
    }
    const templatePath = defaultTemplatePath();
    const { text, sha256 } = await readBounded(templatePath, templatePath);
    return {
      list: parseTaskList(text, { sourceName: DEFAULT_TEMPLATE_PATH }),
      origin: 'default-template',
      path: templatePath,
      sha256,
    };
  }

  let real: string;
  try {
    real = await realpath(candidate);
  } catch (error) {
    if (isMissing(error)) return refuse('is a symbolic link to nothing');
    throw new TaskListReadError(relPath, 'cannot be read', { cause: error });
  }
  if (!isInside(root, real, false)) refuse('resolves outside the checkout');
  const info = await stat(real);
  if (!info.isFile()) refuse('is not a regular file');
  const { text, sha256 } = await readBounded(real, relPath);
  return { list: parseTaskList(text, { sourceName: relPath }), origin: 'repository', path: relPath, sha256 };
}

/**
 * `<package root>/ai_docs/templates/task_list.md`, the package root being the nearest ancestor
 * of this module with a package.json: the same file from `src/infra/tasks/` (tests) and from
 * `dist/src/infra/tasks/` (the build, which has no package.json of its own).
 */
export function defaultTemplatePath(moduleUrl: string | URL = import.meta.url): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, DEFAULT_TEMPLATE_PATH);
    const parent = dirname(dir);
    if (parent === dir) throw new TaskListReadError(DEFAULT_TEMPLATE_PATH, `has no package root above ${String(moduleUrl)}`);
    dir = parent;
  }
}

/** The path as `a/b/c` relative to the checkout, or TaskListPathError. Pure string checks. */
function checkRelativePath(path: string, repoDir: string): string {
  const refuse = (reason: string): never => {
    throw new TaskListPathError(path, repoDir, reason);
  };
  if (typeof path !== 'string' || path.trim() === '') refuse('is empty');
  if (path.includes('\0')) refuse('contains a NUL byte');
  if (posix.isAbsolute(path) || win32.isAbsolute(path)) refuse('is absolute; give a path inside the repository');
  // On POSIX a backslash is part of a name, but here it is almost surely a Windows separator
  // (`..\x`), which would make the `..` check below miss.
  if (path.includes('\\')) refuse('contains "\\"; use "/" as the separator');
  const parts = path.split('/');
  if (parts.includes('..')) refuse('contains ".."; give a path inside the repository');
  const rel = parts.filter((part) => part !== '' && part !== '.').join('/');
  if (rel === '') refuse('names the repository itself, not a file');
  return rel;
}

function isInside(root: string, target: string, orEqual: boolean): boolean {
  const rel = relative(root, target);
  if (rel === '') return orEqual;
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function realpathOfNearestExisting(dir: string, root: string): Promise<string> {
  for (;;) {
    try {
      return await realpath(dir);
    } catch (error) {
      if (!isMissing(error)) throw new TaskListReadError(dir, 'cannot be read', { cause: error });
    }
    // root itself exists (it came out of realpath), so the walk ends there at the latest.
    if (dir === root) return root;
    dir = dirname(dir);
  }
}

/**
 * Reads at most MAX_TASK_LIST_BYTES. O_NOFOLLOW keeps a symlink swapped in after the checks from
 * being followed, and O_NONBLOCK keeps a FIFO planted at the path from hanging the read.
 */
async function readBounded(file: string, shownAs: string): Promise<{ text: string; sha256: string }> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    throw new TaskListReadError(shownAs, 'cannot be read', { cause: error });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new TaskListReadError(shownAs, 'is not a regular file');
    // Read to the end rather than trusting the size: the file may change while it is read.
    const chunks: Uint8Array[] = [];
    let length = 0;
    for (;;) {
      const chunk = new Uint8Array(READ_CHUNK_BYTES);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_TASK_LIST_BYTES) throw new TaskListReadError(shownAs, `is larger than ${MAX_TASK_LIST_BYTES} bytes`);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    const bytes = chunks.length === 1 ? chunks[0]! : concat(chunks, length);
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    const sha256 = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    return { text: new TextDecoder().decode(bytes), sha256 };
  } catch (error) {
    if (error instanceof TaskListReadError) throw error;
    throw new TaskListReadError(shownAs, 'cannot be read', { cause: error });
  } finally {
    await handle.close();
  }
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
