// Values the edge refuses before anything stores or runs them: unstorable strings, paths leaving
// the repository, bodies nested too deep (counted on the raw text).
import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../../src/http/body.js';
import { findDepthViolation } from '../../src/http/json-depth.js';
import { findUnstorableText, repoPathProblem, textProblem } from '../../src/project/index.js';

describe('storable text', () => {
  it('refuses U+0000 and unpaired surrogates, accepts pairs', () => {
    expect(textProblem('a\u0000b')).toBe('nul');
    for (const s of ['\ud800', 'a\udc00', '\udc00\ud800', 'x\ud83d']) expect(textProblem(s), JSON.stringify(s)).toBe('lone_surrogate');
    for (const s of ['', 'plain', '😀', '\ud83d\ude00 ok', 'é']) expect(textProblem(s)).toBeNull();
  });

  it('finds the first bad key or value at any depth, with its path', () => {
    expect(findUnstorableText({ a: [1, 'x', { b: 'c\u0000' }] })).toEqual({ path: ['a', 2, 'b'], inKey: false, problem: 'nul' });
    expect(findUnstorableText({ a: { 'k\ud800': 1 } })).toEqual({ path: ['a', 'k\ud800'], inKey: true, problem: 'lone_surrogate' });
    expect(findUnstorableText({ a: [1, null, true, 'fine'] })).toBeNull();
    expect(findUnstorableText('\u0000')).toEqual({ path: [], inKey: false, problem: 'nul' });
  });
});

describe('repoPathProblem', () => {
  it('accepts relative paths inside the repository', () => {
    for (const p of ['ai_docs/tasks/task_list.md', 'x.md', './x.md', 'a/b-c/d.md', 'dir.with.dots/x']) expect(repoPathProblem(p), p).toBeNull();
  });
  it('refuses absolute, .., backslash, control characters, empty parts and "-"-led parts', () => {
    const cases: Array<[string, RegExp]> = [
      ['/etc/passwd', /relative/],
      ['../x', /"\.\."/],
      ['a/../../x', /"\.\."/],
      ['a\\b', /backslash/],
      ['a\u0000b', /control/],
      ['a\nb', /control/],
      ['-x', /"-"/],
      ['docs/-x', /"-"/],
      ['a//b', /empty/],
      ['a/', /empty/],
      ['', /empty/],
    ];
    for (const [p, why] of cases) expect(repoPathProblem(p), JSON.stringify(p)).toMatch(why);
  });
});

describe('JSON nesting depth on the raw text', () => {
  const nested = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  it('accepts 32 levels and refuses 33, naming the top-level field', () => {
    expect(findDepthViolation(nested(32))).toBeNull();
    expect(findDepthViolation(`{"x":1,"payload":${nested(32)}}`)).toEqual({ field: 'payload', maxDepth: 32 });
    expect(findDepthViolation(`[0,1,${'['.repeat(40)}]`)).toEqual({ field: '2', maxDepth: 32 });
    expect(findDepthViolation(nested(33))).toEqual({ field: 'a', maxDepth: 32 });
  });
  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(findDepthViolation(`{"s":"${'{['.repeat(100)}\\"${'['.repeat(100)}"}`)).toBeNull();
    expect(findDepthViolation(`{"k\\"{{{{":${nested(40)}}`)).toEqual({ field: 'k"{{{{', maxDepth: 32 });
  });
  it('refuses 100,000 levels without parsing, in a few milliseconds', () => {
    const text = `{"payload":${nested(100_000)}}`;
    const started = performance.now();
    expect(() => parseJsonBody(text)).toThrow(/deeper than 32/);
    expect(performance.now() - started).toBeLessThan(50);
  });
  it('parses an ordinary body and refuses unstorable strings with the field', () => {
    expect(parseJsonBody('{"a":[1,{"b":"c"}]}')).toEqual({ a: [1, { b: 'c' }] });
    expect(() => parseJsonBody('{"a":[1,{"b":"\\u0000"}]}')).toThrow(/a\.1\.b: value must not contain U\+0000/);
    expect(() => parseJsonBody('{"\\ud800":1}')).toThrow(/"\\ud800": key must not contain an unpaired/);
    expect(() => parseJsonBody('{"a": ')).toThrow(/not valid JSON/);
  });
});
