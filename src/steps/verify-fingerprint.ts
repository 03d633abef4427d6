// The fingerprint of a failed verification: the failing command and its error lines, with what
// changes from run to run without the error changing (paths, line and column numbers, hashes,
// times, durations, temp-dir names) taken out, hashed. Equal fingerprints in two attempts in a row
// mean the agent's change did not move the build: the machine then stops retrying.
import { createHash } from 'node:crypto';

/** Lines that name an error; when none does, the end of the output is what failed. */
const ERROR_LINE = /error|fail|✖|×|✗|ERR!|exception|cannot|not found|expected|assert|panic|fatal|denied|undefined|missing/i;
const TAIL_LINES = 20;
/** Error lines kept: a build that fails in a thousand places is fingerprinted by its first ones. */
const MAX_ERROR_LINES = 50;

/** Ordered: times before numbers, paths before hashes (a hash inside a path goes with the path). */
const NORMALIZE: Array<[RegExp, string]> = [
  // ANSI colours.
  [/\u001b\[[0-9;]*[A-Za-z]/g, ''],
  // ISO and log-file timestamps (2026-12-07T20:01:02.123Z, 2026-12-07T20_01_02_123Z, 2026-12-07 20:01:02).
  [/\d{4}-\d{2}-\d{2}[T _]\d{2}[:_]\d{2}[:_]\d{2}(?:[._]\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>'],
  [/\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?(?:\s?[AP]M)?\b/g, '<time>'],
  // Paths (absolute or relative, with a slash): their last part.
  [/(?:[A-Za-z]:)?(?:[\w.@~+-]*\/)+([\w.@+-]+)/g, '$1'],
  // Temp-dir names that are the last part themselves (tmp.Zq81Lm, tmp-1234-abcd, devteam-aB3x9q).
  [/\b(?:tmp|temp)[-._]?[A-Za-z0-9]+\b/gi, '<tmp>'],
  // Line and column: file.ts:12:18, file.ts(4,7), "line 12, column 3".
  [/:\d+(?::\d+)?\b/g, ':<n>'],
  [/\(\d+,\d+\)/g, '(<n>)'],
  [/\b(line|column|col)\s+\d+/gi, '$1 <n>'],
  // Hex hashes (commits, content hashes, object ids).
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,64}\b/gi, '<hex>'],
  // Durations (1.23s, 912ms, 3 min, 21ms).
  [/\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s|sec|secs|seconds|m|min|mins|minutes|h)\b/g, '<dur>'],
  [/\s+/g, ' '],
];

/** One output line as it is fingerprinted. */
export function normalizeLine(line: string): string {
  return NORMALIZE.reduce((text, [pattern, by]) => text.replace(pattern, by), line).trim();
}

/** The fingerprint (hex) of a failing command `argv` whose output was `lines`. */
export function verifyFingerprint(argv: readonly string[], lines: readonly string[]): string {
  const normalized = lines.map(normalizeLine).filter(Boolean);
  const errors = normalized.filter((l) => ERROR_LINE.test(l));
  const picked = errors.length > 0 ? errors.slice(0, MAX_ERROR_LINES) : normalized.slice(-TAIL_LINES);
  return createHash('sha256').update([argv.join(' '), ...picked].join('\n')).digest('hex').slice(0, 32);
}
