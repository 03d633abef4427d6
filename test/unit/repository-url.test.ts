// repository.url by form: which schemes, which hosts, users and paths, and where file remotes may live.
import { describe, expect, it } from 'vitest';
import { fileRemotePathProblem, parseRepositoryUrl, repositoryUrlProblem, type FileRemotePolicy } from '../../src/project/index.js';

const policy: FileRemotePolicy = { roots: ['/srv/git', '/home/ops/remotes/'], forbidden: ['/srv/git/devteam-data', '/var/cache/devteam'] };

describe('parseRepositoryUrl', () => {
  it('reads the allowed network forms', () => {
    expect(parseRepositoryUrl('https://Git.Example.com:8443/acme/web.git')).toEqual({
      ok: true,
      url: { kind: 'network', scheme: 'https', user: null, host: 'git.example.com', port: 8443, path: '/acme/web.git' },
    });
    expect(parseRepositoryUrl('ssh://git@[::1]:2222/acme/web.git')).toMatchObject({ ok: true, url: { kind: 'network', scheme: 'ssh', user: 'git', host: '[::1]', port: 2222 } });
    expect(parseRepositoryUrl('git://git.example.com/web.git')).toMatchObject({ ok: true, url: { kind: 'network', scheme: 'git' } });
    expect(parseRepositoryUrl('git@github.com:acme/web.git')).toEqual({ ok: true, url: { kind: 'scp', user: 'git', host: 'github.com', path: 'acme/web.git' } });
    expect(parseRepositoryUrl('github.com:/srv/web.git')).toMatchObject({ ok: true, url: { kind: 'scp', user: null, path: '/srv/web.git' } });
    expect(parseRepositoryUrl('file:///srv/git//a/./b.git/')).toEqual({ ok: true, url: { kind: 'file', path: '/srv/git/a/b.git' } });
    expect(parseRepositoryUrl('/srv/git/a.git')).toEqual({ ok: true, url: { kind: 'file', path: '/srv/git/a.git' } });
  });

  const refused: Array<[string, RegExp]> = [
    ['http://git.example.com/x.git', /clear text/],
    ['HTTPS://git.example.com/x.git', /lower case/],
    ['ftp://git.example.com/x.git', /not ftp:\/\//],
    ['ext::sh -c touch% /tmp/pwned', /printable ASCII/],
    ['ext::sh', /transport helper/],
    ['fd::17', /transport helper/],
    ['host::path', /transport helper/],
    ['https://git.example.com/x.git --upload-pack=touch', /printable ASCII/],
    ['https://git.example.com/x.git\n', /printable ASCII/],
    ['https://git.example.com/\u00e9.git', /printable ASCII/],
    ['https://token@git.example.com/x.git', /credentials/],
    ['https://u:p@git.example.com/x.git', /credentials/],
    ['ssh://git:p@git.example.com/x.git', /credentials/],
    ['user:pass@git.example.com:x.git', /":"/],
    ['ssh://-oProxyCommand=x/y', /invalid host/],
    ['ssh://-u@host/y', /invalid user/],
    ['-oProxyCommand=x:y', /start with "-"/],
    ['host:-u', /start with "-"/],
    ['git@host:a/--upload-pack=x', /start with "-"/],
    ['https://host/a/-b.git', /start with "-"/],
    ['https://host/a/%2Db.git', /start with "-"/],
    ['https://host/a/%2e%2e/b.git', /"\.\."/],
    ['https://host/a/../b.git', /"\.\."/],
    ['git@host:../../etc/x.git', /"\.\."/],
    ['https://-host/x.git', /invalid host/],
    ['https://host_name/x.git', /invalid host/],
    ['https://host:99999/x.git', /port/],
    ['https://host', /repository path/],
    ['https://host/', /repository path/],
    ['https://host/x.git?a=b', /"\?"/],
    ['https://host/x%zz.git', /percent-encoding/],
    ['https://host/x"y.git', /quotes/],
    ['file://../../etc', /no host/],
    ['file://localhost/srv/x.git', /no host/],
    ['file:///srv/%2e%2e/etc', /"%"/],
    ['/srv/../etc', /"\.\."/],
    ['../../etc', /relative path/],
    ['./x', /relative path/],
    ['x', /relative path/],
    ['', /empty/],
    [`https://host/${'x'.repeat(2100)}`, /2048/],
  ];
  for (const [url, why] of refused) {
    it(`refuses ${JSON.stringify(url.slice(0, 60))}`, () => {
      const parsed = parseRepositoryUrl(url);
      expect(parsed.ok).toBe(false);
      expect(parsed.ok ? '' : parsed.problem).toMatch(why);
    });
  }
});

describe('file remotes', () => {
  it('are refused unless the operator opened roots', () => {
    expect(repositoryUrlProblem('file:///srv/git/a.git')).toMatch(/DEVTEAM_FILE_REMOTE_ROOTS/);
    expect(repositoryUrlProblem('/srv/git/a.git')).toMatch(/file remotes are off/);
    expect(repositoryUrlProblem('https://git.example.com/a.git')).toBeNull();
  });

  it('must be strictly inside a root, after normalization', () => {
    expect(repositoryUrlProblem('file:///srv/git/a.git', policy)).toBeNull();
    expect(repositoryUrlProblem('/home/ops/remotes/team/a.git', policy)).toBeNull();
    expect(repositoryUrlProblem('file:///srv//git/./a.git', policy)).toBeNull();
    for (const url of ['file:///srv/git', 'file:///srv/git/', '/srv/git/.', 'file:///srv/gitx/a.git', 'file:///srv/a.git', '/etc/passwd', 'file:///home/ops/remotes']) {
      expect(repositoryUrlProblem(url, policy), url).toMatch(/strictly inside/);
    }
  });

  it('is never inside, or above, the data directory or the repository cache, even inside a root', () => {
    expect(repositoryUrlProblem('file:///srv/git/devteam-data', policy)).toMatch(/data directory/);
    expect(repositoryUrlProblem('file:///srv/git/devteam-data/pgdata', policy)).toMatch(/data directory/);
    expect(fileRemotePathProblem('/var/cache/devteam/acme/web/repo', { roots: ['/var'], forbidden: policy.forbidden })).toMatch(/repository cache/);
    expect(fileRemotePathProblem('/var/cache', { roots: ['/var'], forbidden: policy.forbidden })).toMatch(/contain/);
    expect(repositoryUrlProblem('file:///srv/git/devteam-data-other/a.git', policy)).toBeNull();
  });
});
