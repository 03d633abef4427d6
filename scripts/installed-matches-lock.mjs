// Prints each <dir> argument whose node_modules does not hold exactly what its package-lock.json pins.
// Compares the lock with the record npm writes after every install (node_modules/.package-lock.json)
// instead of file times: a git checkout or a worktree gives the lock a new mtime without changing it.
// Plain node built-ins: it runs before `npm ci`, when nothing else may be installed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function packages(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8')).packages ?? {};
  } catch {
    return undefined;
  }
}

const same = (a, b) => a.version === b.version && (!a.integrity || !b.integrity || a.integrity === b.integrity);

function matches(dir) {
  const locked = packages(join(dir, 'package-lock.json'));
  const installed = packages(join(dir, 'node_modules', '.package-lock.json'));
  if (!locked || !installed) return false;
  // The root entry ("") is the project itself; optional packages for other platforms are never installed.
  const pinsMet = Object.entries(locked).every(([path, pin]) => path === '' || (installed[path] ? same(pin, installed[path]) : pin.optional));
  return pinsMet && Object.keys(installed).every((path) => path in locked);
}

for (const dir of process.argv.slice(2)) if (!matches(dir)) console.log(dir);
