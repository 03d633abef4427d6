// Git's branch-name rules (`git check-ref-format --branch`, i.e. refs/heads/<name> under
// check_refname_format): refusing a name here gives a 422 naming the field instead of a failed
// clone or push later, and a name can never be read by git as an option.
import { textProblem } from './storable-text.js';

/** Loose refs are files: keep a name within one file-name length. */
export const MAX_BRANCH_NAME_BYTES = 255;

// git's refname_disposition: ASCII controls, DEL, space and ~ ^ : ? * [ \ are never allowed.
// eslint-disable-next-line no-control-regex
const BAD_CHARACTER = /[\u0000-\u0020\u007f~^:?*[\\]/;
// C1 controls are bytes >= 0x80 to git and so allowed there; we refuse them too (invisible in logs).
const C1_CONTROL = /[\u0080-\u009f]/;

/** Why `name` is not a valid branch name, or null when git would accept it. */
export function branchNameProblem(name: string): string | null {
  if (name === '') return 'must not be empty';
  if (textProblem(name)) return 'must be valid UTF-8 text without U+0000';
  if (new TextEncoder().encode(name).length > MAX_BRANCH_NAME_BYTES) return `must be at most ${MAX_BRANCH_NAME_BYTES} bytes`;
  if (name.startsWith('-')) return 'must not start with "-"';
  // git reads "@" alone as HEAD, and refuses a branch called HEAD.
  if (name === '@' || name === 'HEAD') return `must not be "${name}"`;
  const bad = BAD_CHARACTER.exec(name) ?? C1_CONTROL.exec(name);
  if (bad) return `must not contain ${describe(bad[0])} (no spaces, control characters or any of ~ ^ : ? * [ \\)`;
  if (name.includes('..')) return 'must not contain ".."';
  if (name.includes('@{')) return 'must not contain "@{"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'must not start or end with "/" or contain "//"';
  if (name.endsWith('.')) return 'must not end with "."';
  for (const component of name.split('/')) {
    if (component.startsWith('.')) return `no part may start with "." ("${component}")`;
    if (component.endsWith('.lock')) return `no part may end with ".lock" ("${component}")`;
  }
  return null;
}

export function isValidBranchName(name: string): boolean {
  return branchNameProblem(name) === null;
}

function describe(ch: string): string {
  const code = ch.codePointAt(0)!;
  if (code === 0x20) return 'a space';
  if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `"${ch}"`;
}
