// The lines a range of commits adds, file by file with their line numbers: what a secret scan
// reads before anything leaves. Every commit of the range is read on its own (not the range's net
// diff): a secret added by one commit and removed by the next would still be in the pushed history.
import { gitProcessEnv } from './git-credentials.js';
import { runGit } from './git-run.js';
import { RepoError } from './git-errors.js';

const GIT_TIMEOUT_MS = 120_000;
/** More than any task's change; a range beyond it is refused rather than scanned in part. */
const MAX_LOG_BYTES = 64 * 1024 * 1024;

export interface AddedLine {
  commit: string;
  path: string;
  /** 1-based, in the file as the commit leaves it. */
  line: number;
  text: string;
}

/** The lines added by each commit reachable from `to` and not from `from` (binary files are skipped). */
export async function addedLines(repoDir: string, from: string, to: string, signal?: AbortSignal): Promise<AddedLine[]> {
  for (const rev of [from, to]) {
    if (!rev || rev.startsWith('-') || /[\0\s]/.test(rev)) throw new RepoError('invalid_path', `invalid revision ${JSON.stringify(rev)}`, { field: 'rev' });
  }
  const args = ['-c', 'core.quotePath=false', 'log', '--patch', '--unified=0', '--no-color', '--no-ext-diff', '--no-textconv', '--no-renames', '--format=commit %H', `${from}..${to}`, '--'];
  const run = await runGit(args, { workTree: repoDir, env: gitProcessEnv(), timeoutMs: GIT_TIMEOUT_MS, signal, maxBuffer: MAX_LOG_BYTES, stripFinalNewline: false });
  signal?.throwIfAborted();
  if (run.truncated) throw new RepoError('checkout_failed', `the commits ${from}..${to} are larger than ${MAX_LOG_BYTES} bytes: not scanned, not pushed`, { failure: 'other' });
  if (run.exitCode !== 0) throw new RepoError('checkout_failed', `git log of ${from}..${to} failed: ${run.stderr.split('\n')[0]?.slice(0, 300) ?? ''}`, { failure: 'other', exitCode: run.exitCode });
  return parsePatchLog(run.stdout);
}

/** `git log --patch --unified=0 --format="commit %H"` → the added lines. */
export function parsePatchLog(out: string): AddedLine[] {
  const added: AddedLine[] = [];
  let commit = '';
  let path: string | null = null;
  let line = 0;
  let inHunk = false;
  for (const raw of out.split('\n')) {
    if (raw.startsWith('commit ')) {
      commit = raw.slice('commit '.length).trim();
      path = null;
      inHunk = false;
    } else if (raw.startsWith('diff --git ')) {
      path = null;
      inHunk = false;
    } else if (!inHunk && raw.startsWith('+++ ')) {
      const target = raw.slice(4);
      path = target === '/dev/null' ? null : target.replace(/^b\//, '').replace(/\t$/, '');
    } else if (raw.startsWith('@@ ')) {
      const m = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
      line = m ? Number(m[1]) : 0;
      inHunk = m !== null;
    } else if (inHunk && path && raw.startsWith('+')) {
      added.push({ commit, path, line, text: raw.slice(1) });
      line++;
    }
  }
  return added;
}
