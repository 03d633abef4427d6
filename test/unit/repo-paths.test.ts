import { describe, expect, it } from 'vitest';
import { assertRemoteUrl, classifyGitFailure, credentialEnv, projectPaths, redactUrl, RepoError } from '../../src/infra/repo/index.js';

const ROOT = '/var/cache/devteam';

function rejection(fn: () => unknown): RepoError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RepoError);
    return error as RepoError;
  }
  throw new Error('expected a RepoError');
}

describe('projectPaths', () => {
  it('places the clone under root/tenant/project/repo', () => {
    expect(projectPaths(ROOT, 'acme', 'web')).toEqual({ projectDir: `${ROOT}/acme/web`, repoDir: `${ROOT}/acme/web/repo`, gitDir: `${ROOT}/acme/web/git` });
    expect(projectPaths(`${ROOT}/`, 'a_b-C9', 'web.app_v2-x').repoDir).toBe(`${ROOT}/a_b-C9/web.app_v2-x/repo`);
  });

  it('gives two tenants different directories for the same project id', () => {
    expect(projectPaths(ROOT, 'acme', 'web').projectDir).not.toBe(projectPaths(ROOT, 'globex', 'web').projectDir);
  });

  it.each([
    ['projectId', 'acme', '..'],
    ['projectId', 'acme', '.'],
    ['projectId', 'acme', 'a..b'],
    ['projectId', 'acme', '/abs'],
    ['projectId', 'acme', 'a/b'],
    ['projectId', 'acme', ''],
    ['projectId', 'acme', '.hidden'],
    ['projectId', 'acme', 'we b'],
    ['projectId', 'acme', 'x'.repeat(129)],
    ['tenant', '', 'web'],
    ['tenant', '..', 'web'],
    ['tenant', 'a/b', 'web'],
    ['tenant', 'a.b', 'web'],
    ['tenant', 'ü', 'web'],
    ['tenant', 'x'.repeat(65), 'web'],
  ])('rejects %s in (%j, %j) as invalid_path', (field, tenant, projectId) => {
    const error = rejection(() => projectPaths(ROOT, tenant, projectId));
    expect(error.code).toBe('invalid_path');
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
  });

  it('requires an absolute root', () => {
    const error = rejection(() => projectPaths('cache', 'acme', 'web'));
    expect(error).toMatchObject({ code: 'invalid_path', field: 'root' });
  });
});

describe('remote URLs', () => {
  it('redacts credentials embedded in URLs', () => {
    expect(redactUrl('https://user:ghp_secret123@github.com/acme/web.git')).toBe('https://***@github.com/acme/web.git');
    expect(redactUrl('https://ghp_secret123@github.com/acme/web.git')).toBe('https://***@github.com/acme/web.git');
    expect(redactUrl('https://github.com/acme/web.git')).toBe('https://github.com/acme/web.git');
    expect(redactUrl('/srv/git/web.git')).toBe('/srv/git/web.git');
  });

  it('rejects a URL with embedded credentials without echoing the secret', () => {
    const error = rejection(() => assertRemoteUrl('https://user:ghp_secret123@github.com/acme/web.git'));
    expect(error.code).toBe('invalid_url');
    expect(error.message).toContain('https://***@github.com/acme/web.git');
    expect(JSON.stringify(error)).not.toContain('ghp_secret123');
    expect(String(error.stack)).not.toContain('ghp_secret123');
    expect(rejection(() => assertRemoteUrl('https://ghp_tokenonly1@github.com/x.git')).message).not.toContain('ghp_tokenonly1');
  });

  it.each(['https://github.com/acme/web.git', 'http://127.0.0.1:8080/x.git', 'ssh://git@github.com/acme/web.git', 'git://host/x.git', 'file:///srv/x.git', '/srv/git/x.git', 'git@github.com:acme/web.git'])(
    'accepts %s',
    (url) => expect(() => assertRemoteUrl(url)).not.toThrow(),
  );

  it.each(['ext::sh -c touch% /tmp/pwned', 'ftp://host/x.git', 'relative/path', '-uhoh', '', 'https://host/a b'])('rejects %j', (url) => {
    expect(rejection(() => assertRemoteUrl(url)).code).toBe('invalid_url');
  });
});

describe('credentialEnv', () => {
  it('puts the token only in an env-only Authorization header and always disables prompts', () => {
    const env = credentialEnv({ token: 'tok_123456' });
    expect(env).toMatchObject({
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '/bin/false',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('x-access-token:tok_123456').toString('base64')}`,
    });
    expect(credentialEnv({ token: 'tok_123456', username: 'bot' }).GIT_CONFIG_VALUE_0).toContain(Buffer.from('bot:tok_123456').toString('base64'));
    const none = credentialEnv();
    expect(none.GIT_TERMINAL_PROMPT).toBe('0');
    expect(Object.values(none).join('\n')).not.toContain('Authorization');
  });

  it('refuses tokens that would inject headers, without naming them', () => {
    expect(() => credentialEnv({ token: 'abc\r\nX-Evil: 1' })).toThrow(/single-line/);
    expect(() => credentialEnv({ token: 'abc\r\nX-Evil: 1' })).not.toThrow(/Evil/);
  });
});

describe('classifyGitFailure', () => {
  it.each([
    ["remote: Invalid username or password.\nfatal: Authentication failed for 'https://github.com/acme/web.git/'", 'auth'],
    ["fatal: could not read Username for 'https://github.com': terminal prompts disabled", 'auth'],
    ["error: unable to read askpass response from '/bin/false'\nfatal: could not read Username for 'http://127.0.0.1:4000': No such device or address", 'auth'],
    ["fatal: unable to access 'https://gitlab.com/acme/web.git/': The requested URL returned error: 403", 'auth'],
    ["fatal: unable to access 'https://host/x.git/': The requested URL returned error: 401", 'auth'],
    ['git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.', 'auth'],
    ['remote: Repository not found.\nfatal: repository \'https://github.com/acme/nope.git/\' not found', 'not_found'],
    ["fatal: '/srv/git/nope.git' does not appear to be a git repository\nfatal: Could not read from remote repository.", 'not_found'],
    ["fatal: repository '/tmp/x/nope.git' does not exist", 'not_found'],
    ["fatal: unable to access 'https://host/x.git/': The requested URL returned error: 404", 'not_found'],
    ["fatal: unable to access 'https://notfound.example/x.git/': Could not resolve host: notfound.example", 'network'],
    ["fatal: unable to access 'http://127.0.0.1:1/x.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Connection refused", 'network'],
    ["fatal: unable to access 'https://host/x.git/': Connection timed out after 30001 milliseconds", 'network'],
    ['error: RPC failed; curl 56 GnuTLS recv error (-9)\nfatal: early EOF\nfatal: index-pack failed', 'network'],
    ["fatal: unable to access 'https://host/x.git/': OpenSSL SSL_read: Connection was reset", 'network'],
    ['fatal: destination path exists and is not an empty directory', 'other'],
    ['', 'other'],
  ])('%j → %s', (stderr, failure) => {
    expect(classifyGitFailure(stderr)).toBe(failure);
  });
});
