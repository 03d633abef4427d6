// Credentials for one git call: they live only in the child's environment (env-only git config),
// so they never reach .git/config, the remote URL on disk, a log line or an error message.
import { RepoError, redactUrl } from './git-errors.js';

export { redactUrl } from './git-errors.js';

export interface GitCredentials {
  token: string;
  /** Defaults to 'x-access-token' (GitHub app / PAT convention; other hosts ignore it). */
  username?: string;
}

export const DEFAULT_GIT_USERNAME = 'x-access-token';

// What a git child inherits from the service's environment: what finding programs, reaching a
// remote (proxies, CAs, an ssh agent) and a locale need — never the service's secrets (API keys,
// model keys, database URLs, other tenants' tokens), which a git child has no use for.
const INHERITED_VARS = new Set([
  'PATH',
  'HOME',
  'TMPDIR',
  'TZ',
  'SSH_AUTH_SOCK',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_SSL_CAINFO',
  'GIT_SSL_CAPATH',
  'GIT_EXEC_PATH',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
]);

const SCHEMES = new Set(['https:', 'http:', 'ssh:', 'git:', 'file:']);
// scp-like ssh (`git@host:org/repo.git`): the user part is an account name, not a secret.
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/)[^\s]+$/;

/** Accepts https/http/ssh/git/file URLs, scp-like ssh and absolute local paths; rejects embedded credentials. */
export function assertRemoteUrl(url: string): void {
  const fail = (reason: string): never => {
    throw new RepoError('invalid_url', `remote ${JSON.stringify(redactUrl(url))} ${reason}`, { field: 'url', remote: redactUrl(url) });
  };
  if (typeof url !== 'string' || url.length === 0) fail('is empty');
  if (/[\s\0]/.test(url)) fail('contains whitespace or control characters');
  if (url.startsWith('/')) return;
  if (SCP_LIKE.test(url)) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail('is neither a URL nor an absolute path');
  }
  if (!SCHEMES.has(parsed.protocol)) fail(`uses an unsupported scheme ${parsed.protocol}`);
  // ssh://git@host is an account name; a password, or any userinfo elsewhere, is a credential.
  if (parsed.password || (parsed.username && parsed.protocol !== 'ssh:')) {
    fail('embeds credentials; pass them as credentials instead');
  }
}

/** Settings every git call gets: never prompt, never use a stored helper, English messages. */
export function credentialEnv(credentials?: GitCredentials): Record<string, string> {
  const env: Record<string, string> = {
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    GCM_INTERACTIVE: 'never',
    // Classification reads stderr, which must not be translated.
    LC_ALL: 'C',
    LANGUAGE: 'C',
  };
  // A stored helper could hand one tenant's credentials to another tenant's remote.
  const config: Array<[string, string]> = [];
  if (credentials) config.push(['http.extraHeader', `Authorization: Basic ${basicAuth(credentials)}`]);
  config.push(['credential.helper', '']);
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/** The whole environment of a git child: a short list from this process's, plus credentialEnv. */
export function gitProcessEnv(credentials?: GitCredentials, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined && INHERITED_VARS.has(key)) env[key] = value;
  }
  if (!env.GIT_SSH_COMMAND && !env.GIT_SSH) env.GIT_SSH_COMMAND = 'ssh -o BatchMode=yes';
  return { ...env, ...credentialEnv(credentials) };
}

/** Strings that must be scrubbed from anything derived from a run with these credentials. */
export function credentialSecrets(credentials?: GitCredentials): string[] {
  if (!credentials) return [];
  return [basicAuth(credentials), credentials.token];
}

function basicAuth(credentials: GitCredentials): string {
  const { token } = credentials;
  const username = credentials.username ?? DEFAULT_GIT_USERNAME;
  // A line break would let the value inject further HTTP headers; the message names no value.
  if (typeof token !== 'string' || token.length === 0 || /[\r\n\0]/.test(token)) {
    throw new TypeError('git credentials: token must be a non-empty single-line string');
  }
  if (/[:\r\n\0]/.test(username)) throw new TypeError('git credentials: username must not contain ":" or line breaks');
  return Buffer.from(`${username}:${token}`).toString('base64');
}
