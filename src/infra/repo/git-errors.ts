// Turning git's failures into errors a caller can act on: a stable code, the failure class that
// decides retrying, and a message whose remote URL and stderr have had every credential removed.

export type GitFailure = 'auth' | 'not_found' | 'network' | 'timeout' | 'other';
export type RepoErrorCode = 'clone_failed' | 'fetch_failed' | 'invalid_path' | 'invalid_url' | 'checkout_failed' | 'merge_conflict' | 'push_rejected' | 'push_failed';

export interface RepoErrorDetails {
  /** The remote, always passed through redactUrl first. */
  remote?: string;
  failure?: GitFailure;
  /** Which input was rejected (invalid_path / invalid_url). */
  field?: string;
  /** How many times git ran before giving up. */
  attempts?: number;
  exitCode?: number | null;
}

/** Deliberately carries no `cause`: the underlying process error holds raw stderr and the command. */
export class RepoError extends Error {
  readonly code: RepoErrorCode;
  readonly remote?: string;
  readonly failure?: GitFailure;
  readonly field?: string;
  readonly attempts?: number;
  readonly exitCode?: number | null;

  constructor(code: RepoErrorCode, message: string, details: RepoErrorDetails = {}) {
    super(message);
    this.name = 'RepoError';
    this.code = code;
    if (details.remote !== undefined) this.remote = details.remote;
    if (details.failure !== undefined) this.failure = details.failure;
    if (details.field !== undefined) this.field = details.field;
    if (details.attempts !== undefined) this.attempts = details.attempts;
    if (details.exitCode !== undefined) this.exitCode = details.exitCode;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      remote: this.remote,
      failure: this.failure,
      field: this.field,
      attempts: this.attempts,
      exitCode: this.exitCode,
    };
  }
}

const AUTH = [
  /authentication failed/i,
  /could not read (username|password)/i,
  /terminal prompts disabled/i,
  /askpass/i,
  /\b(?:error|HTTP|status)[:\s]+40[13]\b/i,
  /\b40[13] (?:unauthorized|forbidden)\b/i,
  /permission denied \((?:publickey|keyboard-interactive|password)/i,
  /invalid username or password/i,
  /access denied/i,
];
// Checked before not_found so that a host named like "notfound.example" stays a network failure.
const NETWORK_STRONG = [
  /could not resolve host/i,
  /could not resolve hostname/i,
  /connection refused/i,
  /failed to connect/i,
  /connection timed out/i,
  /operation timed out/i,
  /network is unreachable/i,
  /no route to host/i,
];
const NOT_FOUND = [
  /repository not found/i,
  /does not appear to be a git repository/i,
  /\b(?:error|HTTP|status)[:\s]+404\b/i,
  /not found/i,
  /does not exist/i,
  /no such repository/i,
];
const NETWORK_WEAK = [
  /early eof/i,
  /rpc failed/i,
  /unable to access/i,
  /connection reset/i,
  /remote end hung up unexpectedly/i,
  /empty reply from server/i,
  /transfer closed/i,
  /gnutls|ssl_/i,
];

/** The class of a failed git run from its stderr; deadlines are the caller's to report as 'timeout'. */
export function classifyGitFailure(stderr: string): GitFailure {
  const has = (patterns: RegExp[]) => patterns.some((p) => p.test(stderr));
  if (has(AUTH)) return 'auth';
  if (has(NETWORK_STRONG)) return 'network';
  if (has(NOT_FOUND)) return 'not_found';
  if (has(NETWORK_WEAK)) return 'network';
  return 'other';
}

const NOISE = [/^Cloning into/, /^remote: (Enumerating|Counting|Compressing|Total)/, /^(Receiving|Resolving) /, /^warning: You appear to have cloned an empty/];

/** The line that explains the failure: git's `fatal:`, else `error:`, else the first non-progress line. Not redacted. */
export function firstUsefulLine(stderr: string): string {
  const lines = stderr
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter((l) => l && !NOISE.some((p) => p.test(l)));
  const line = lines.find((l) => l.startsWith('fatal:')) ?? lines.find((l) => l.startsWith('error:')) ?? lines[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

// scheme://userinfo@ — whatever the userinfo is, it may be a token.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi;
const AUTH_HEADER = /\b(Basic|Bearer|token)\s+[A-Za-z0-9._~+/=-]{6,}/g;

/** The URL with any embedded credentials replaced by `***`, safe for logs and messages. */
export function redactUrl(url: string): string {
  return url.replace(URL_USERINFO, '$1***@');
}

/** Free text (stderr) with URL credentials, auth header values and the given literal secrets removed. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(URL_USERINFO, '$1***@').replace(AUTH_HEADER, '$1 ***');
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
}
