// Writing the runner's files (prompts, the agent's config in its HOME) into folders the agent
// controls, from the host: every component below the root must be a real directory and the file
// is created afresh, so a symlink the agent planted (`.git/devteam -> /etc`, `home/.codex ->
// another tenant's checkout`) is removed, never followed.
import { constants } from 'node:fs';
import { lstat, mkdir, open, rm } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';

/** Path components of `relative`, refusing anything that would leave the root. */
function components(relative: string): string[] {
  const clean = normalize(relative);
  if (relative === '' || isAbsolute(relative) || clean === '..' || clean.startsWith(`..${sep}`) || clean.includes('\0')) {
    throw new RangeError(`${JSON.stringify(relative)} is not a path below the root`);
  }
  return clean.split(sep).filter((c) => c !== '' && c !== '.');
}

/** Makes `root/relative` a real directory, replacing whatever else (a symlink, a file) is there. */
export async function realDirectory(root: string, relative: string): Promise<string> {
  let path = root;
  for (const part of components(relative)) {
    path = join(path, part);
    const info = await lstat(path).catch(() => null);
    if (info?.isDirectory()) continue;
    if (info) await rm(path, { force: true, recursive: false });
    await mkdir(path, { mode: 0o700 });
  }
  return path;
}

/** Writes `root/relative` as a new regular file (a planted symlink or file in its place is removed). */
export async function writeNewFile(root: string, relative: string, content: string | Uint8Array, mode = 0o600): Promise<string> {
  const parts = components(relative);
  const dir = await realDirectory(root, parts.slice(0, -1).join(sep) || '.');
  const path = join(dir, parts[parts.length - 1]!);
  await rm(path, { force: true });
  // O_EXCL with O_CREAT never follows a symlink at the last component; O_NOFOLLOW says so twice.
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return path;
}
