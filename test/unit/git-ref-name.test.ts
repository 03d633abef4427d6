// Branch names by git's rules: a table of the rules one by one, then a few hundred generated names
// judged by the real `git check-ref-format --branch` (spawned with argument arrays, outside any repo).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { branchNameProblem, isValidBranchName } from '../../src/project/index.js';

describe('branchNameProblem', () => {
  const refused: Array<[string, RegExp]> = [
    ['', /empty/],
    ['x.lock', /\.lock/],
    ['a/b.lock/c', /\.lock/],
    ['.hidden', /start with "\."/],
    ['a/.b', /start with "\."/],
    ['a..b', /"\.\."/],
    ['@', /"@"/],
    ['HEAD', /"HEAD"/],
    ['a@{b', /"@\{"/],
    ['a/', /"\/"/],
    ['/a', /"\/"/],
    ['a//b', /"\/\/"/],
    ['a.', /end with "\."/],
    ['a\u0001b', /control character U\+0001/],
    ['a\u007fb', /control character U\+007F/],
    ['a\u0085b', /control character U\+0085/],
    ['a\tb', /control character/],
    ['a b', /a space/],
    ['a~b', /"~"/],
    ['a^b', /"\^"/],
    ['a:b', /":"/],
    ['a?b', /"\?"/],
    ['a*b', /"\*"/],
    ['a[b', /"\["/],
    ['a\\b', /"\\"/],
    ['-x', /start with "-"/],
    ['a\u0000b', /U\+0000/],
    ['a\ud800b', /UTF-8/],
    ['x'.repeat(256), /255 bytes/],
  ];
  for (const [name, why] of refused) {
    it(`refuses ${JSON.stringify(name.length > 20 ? `${name.slice(0, 20)}…` : name)}`, () => {
      expect(branchNameProblem(name)).toMatch(why);
    });
  }

  it('accepts what git accepts', () => {
    for (const name of ['main', 'feature/x-1', 'release/2.0', 'a.lock.b', 'a./b', 'user@host', '@a', 'a@', 'foo/@', 'x/HEAD', 'a{b', 'ü/ß', 'x'.repeat(255)]) {
      expect(branchNameProblem(name), name).toBeNull();
      expect(isValidBranchName(name)).toBe(true);
    }
  });
});

/** Deterministic names from tokens git's rules care about. */
function generatedNames(count: number, seed = 0x5eed): string[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const tokens = ['a', 'b', 'Z', '0', 'main', 'feat', '.', '/', '-', '_', '@', '{', '}', '~', '^', ':', '?', '*', '[', ']', '\\', ' ', '\t', '\u007f', '.lock', '..', '@{', '//', 'HEAD', 'é', 'ß', '+', ',', '=', '!', '#', '%'];
  const names = new Set<string>();
  while (names.size < count) {
    const length = 1 + Math.floor(random() * 6);
    let name = '';
    for (let i = 0; i < length; i++) name += tokens[Math.floor(random() * tokens.length)];
    names.add(name);
  }
  return [...names];
}

function gitAccepts(name: string, cwd: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('git', ['check-ref-format', '--branch', name], { cwd, env: { PATH: process.env.PATH, GIT_CEILING_DIRECTORIES: dirname(cwd), HOME: cwd } }, (error) => resolve(!error));
  });
}

describe('branchNameProblem against git check-ref-format --branch', () => {
  it('agrees with git on 400 generated names (stricter only on "@" alone)', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'devteam-refname-'));
    try {
      const names = generatedNames(400);
      const verdicts: Array<{ name: string; git: boolean; ours: boolean }> = [];
      for (let i = 0; i < names.length; i += 16) {
        const batch = names.slice(i, i + 16);
        const git = await Promise.all(batch.map((name) => gitAccepts(name, cwd)));
        batch.forEach((name, j) => verdicts.push({ name, git: git[j]!, ours: isValidBranchName(name) }));
      }
      // git reads "@" as HEAD and prints the current branch; as a name to create it is refused here.
      const disagreements = verdicts.filter((v) => v.git !== v.ours && v.name !== '@');
      expect(disagreements).toEqual([]);
      // The sample exercises both answers.
      expect(verdicts.filter((v) => v.git).length).toBeGreaterThan(40);
      expect(verdicts.filter((v) => !v.git).length).toBeGreaterThan(40);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
