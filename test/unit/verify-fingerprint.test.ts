// The fingerprint of a failed verification: the same error in two attempts (other temp dirs, times,
// durations, line numbers, hashes) gives the same fingerprint; a different error line does not.
import { describe, expect, it } from 'vitest';
import { verifyFingerprint } from '../../src/steps/verify-fingerprint.js';

const tsc = (dir: string, time: string, ms: string) => [
  `[${time}] Starting compilation in watch mode...`,
  `${dir}/src/math.ts(4,7): error TS2322: Type 'string' is not assignable to type 'number'.`,
  `${dir}/node_modules/.bin/tsc exited after ${ms}`,
  `Found 1 error in ${dir}/src/math.ts:4`,
];

const npm = (log: string, stamp: string, duration: string, sha: string) => [
  '> demo@1.0.0 test',
  '> vitest run',
  ` FAIL  test/math.test.ts > adds [ test/math.test.ts:12:18 ]`,
  `AssertionError: expected 3 to be 4 // Object.is equality`,
  ` ❯ test/math.test.ts:12:18  (commit ${sha})`,
  ` Start at  ${stamp}`,
  ` Duration  ${duration} (transform 21ms, setup 0ms)`,
  `npm ERR! A complete log of this run can be found in: ${log}`,
];

const cases: Array<{ name: string; a: [string[], string[]]; b: [string[], string[]]; same: boolean }> = [
  {
    name: 'tsc: the same error in other temp dirs, at other times and durations',
    a: [['npx', 'tsc', '--noEmit'], tsc('/tmp/devteam-aB3x9q/workspace', '12:01:33', '1.82s')],
    b: [['npx', 'tsc', '--noEmit'], tsc('/var/folders/tmp.Zq81Lm/workspace', '12:07:59', '912ms')],
    same: true,
  },
  {
    name: 'npm: the same failing test with other log paths, timestamps, durations and hashes',
    a: [['npm', 'test'], npm('/root/.npm/_logs/2026-12-07T20_01_02_123Z-debug-0.log', '20:01:02', '1.23s', 'a1b2c3d4e5f6')],
    b: [['npm', 'test'], npm('/home/u/.npm/_logs/2026-12-07T20_09_41_877Z-debug-0.log', '20:09:41', '2.51s', '0f9e8d7c6b5a')],
    same: true,
  },
  {
    name: 'tsc: the same error moved to another line and column',
    a: [['npx', 'tsc'], ['src/math.ts(4,7): error TS2322: Type \'string\' is not assignable to type \'number\'.']],
    b: [['npx', 'tsc'], ['src/math.ts(19,12): error TS2322: Type \'string\' is not assignable to type \'number\'.']],
    same: true,
  },
  {
    name: 'tsc: a different error line',
    a: [['npx', 'tsc'], tsc('/tmp/devteam-aB3x9q/workspace', '12:01:33', '1.82s')],
    b: [['npx', 'tsc'], ['/tmp/devteam-aB3x9q/workspace/src/math.ts(4,7): error TS2339: Property \'add\' does not exist on type \'Math\'.']],
    same: false,
  },
  {
    name: 'npm: another assertion fails',
    a: [['npm', 'test'], npm('/tmp/x.log', '20:01:02', '1.23s', 'a1b2c3d4e5f6')],
    b: [['npm', 'test'], npm('/tmp/x.log', '20:01:02', '1.23s', 'a1b2c3d4e5f6').map((l) => l.replace('expected 3 to be 4', 'expected 5 to be 4'))],
    same: false,
  },
  {
    name: 'the same output from another command',
    a: [['npm', 'test'], ['error: boom']],
    b: [['npm', 'run', 'lint'], ['error: boom']],
    same: false,
  },
];

describe('verifyFingerprint', () => {
  for (const c of cases) {
    it(`${c.name} → ${c.same ? 'same' : 'different'} fingerprint`, () => {
      const a = verifyFingerprint(...c.a);
      const b = verifyFingerprint(...c.b);
      expect(a).toMatch(/^[0-9a-f]{16,}$/);
      if (c.same) expect(a).toBe(b);
      else expect(a).not.toBe(b);
    });
  }

  it('is stable for the same input', () => {
    expect(verifyFingerprint(['npm', 'test'], ['x'])).toBe(verifyFingerprint(['npm', 'test'], ['x']));
  });
});
