// The settings of this security work: tenant sets whose secret namespaces overlap are refused at
// start-up, and file remote roots are absolute, normalized directories (never "/").
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const key = (n: number) => `key-${String(n).padStart(2, '0')}-0123456789abcdef`;

describe('tenant secret namespaces in DEVTEAM_API_KEYS', () => {
  it('accepts distinct tenants, and one tenant with several keys', () => {
    expect(loadConfig({ DEVTEAM_API_KEYS: `acme:${key(1)},acme:${key(2)},acme-eu:${key(3)},beta:${key(4)}` }).apiKeys).toBeDefined();
  });

  it('refuses tenants whose prefixes overlap, naming both', () => {
    for (const [a, b] of [['acme', 'acme_'], ['a-b', 'a_b'], ['Acme', 'acme']]) {
      let error: unknown;
      try {
        loadConfig({ DEVTEAM_API_KEYS: `${a}:${key(1)},${b}:${key(2)}` });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const [problem] = (error as ConfigError).problems;
      expect(problem).toMatch(/^DEVTEAM_API_KEYS: tenants /);
      expect(problem).toContain(`"${a}"`);
      expect(problem).toContain(`"${b}"`);
      expect(problem).toContain('overlapping secret namespaces');
    }
  });
});

describe('the tenant "local"', () => {
  it('is reserved for single-user mode', () => {
    expect(() => loadConfig({ DEVTEAM_API_KEYS: `acme:${key(1)},local:${key(2)}` })).toThrowError(/DEVTEAM_API_KEYS: the tenant "local" is reserved/);
  });
});

describe('DEVTEAM_FILE_REMOTE_ROOTS', () => {
  it('is off by default', () => {
    expect(loadConfig({}).fileRemoteRoots).toEqual([]);
  });

  it('reads comma-separated absolute directories, normalized', () => {
    expect(loadConfig({ DEVTEAM_FILE_REMOTE_ROOTS: '/srv/git/,/home//ops/./remotes' }).fileRemoteRoots).toEqual(['/srv/git', '/home/ops/remotes']);
    expect(loadConfig({}, { fileRemoteRoots: '/srv/git' }).fileRemoteRoots).toEqual(['/srv/git']);
  });

  it('refuses relative, "..", spaced, empty and "/" roots', () => {
    for (const value of ['srv/git', '/srv/../etc', '/srv/my git', '/srv,', '/', '//']) {
      expect(() => loadConfig({ DEVTEAM_FILE_REMOTE_ROOTS: value }), value).toThrowError(/DEVTEAM_FILE_REMOTE_ROOTS/);
    }
  });
});
