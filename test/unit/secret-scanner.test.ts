// The secret scan of outgoing changes: which lines a commit range adds (every commit on its own),
// and what the scanner finds and redacts in them — by secretlint's rules and by exact known values.
import { describe, expect, it } from 'vitest';
import { parsePatchLog } from '../../src/infra/repo/index.js';
import { KNOWN_SECRET_RULE, REDACTED, SecretScanner } from '../../src/infra/secrets/index.js';

const TOKEN = ['ghp', 'wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx'].join('_');
const KEY = 'worker-model-key-0123456789';

const LOG = [
  'commit 1111111111111111111111111111111111111111',
  '',
  'diff --git a/config.js b/config.js',
  'new file mode 100644',
  '--- /dev/null',
  '+++ b/config.js',
  '@@ -0,0 +1,3 @@',
  '+module.exports = {',
  `+  token: "${TOKEN}",`,
  '+};',
  'diff --git a/old.txt b/old.txt',
  'deleted file mode 100644',
  '--- a/old.txt',
  '+++ /dev/null',
  '@@ -1 +0,0 @@',
  '-gone',
  'commit 2222222222222222222222222222222222222222',
  '',
  'diff --git a/config.js b/config.js',
  '--- a/config.js',
  '+++ b/config.js',
  '@@ -2 +1,0 @@',
  `-  token: "${TOKEN}",`,
  '@@ -10,0 +12,2 @@',
  '+const a = 1;',
  `+const k = "${KEY}";`,
].join('\n');

describe('parsePatchLog', () => {
  it('lists the added lines of every commit with their line numbers, not the removed ones', () => {
    expect(parsePatchLog(LOG)).toEqual([
      { commit: '1'.repeat(40), path: 'config.js', line: 1, text: 'module.exports = {' },
      { commit: '1'.repeat(40), path: 'config.js', line: 2, text: `  token: "${TOKEN}",` },
      { commit: '1'.repeat(40), path: 'config.js', line: 3, text: '};' },
      { commit: '2'.repeat(40), path: 'config.js', line: 12, text: 'const a = 1;' },
      { commit: '2'.repeat(40), path: 'config.js', line: 13, text: `const k = "${KEY}";` },
    ]);
  });

  it('reads a path with a space without the tab git puts after it', () => {
    const log = ['commit 3333333333333333333333333333333333333333', 'diff --git a/my file.txt b/my file.txt', '--- /dev/null', '+++ b/my file.txt\t', '@@ -0,0 +1 @@', '+x'].join('\n');
    expect(parsePatchLog(log)).toEqual([{ commit: '3'.repeat(40), path: 'my file.txt', line: 1, text: 'x' }]);
  });
});

describe('SecretScanner', () => {
  const scanner = new SecretScanner([KEY, 'short', undefined]);

  it('finds a token by secretlint and a known value, by commit, file and line — a secret removed later still counts', async () => {
    const hits = await scanner.scan(parsePatchLog(LOG));
    expect(hits).toEqual([
      { commit: '1'.repeat(40), path: 'config.js', line: 2, rule: '@secretlint/secretlint-rule-github' },
      { commit: '2'.repeat(40), path: 'config.js', line: 13, rule: KNOWN_SECRET_RULE },
    ]);
    expect(JSON.stringify(hits)).not.toContain(TOKEN);
  });

  it('finds nothing in ordinary code, nor a known value too short to tell from text', async () => {
    const lines = ['const short = "short";', 'export const add = (a, b) => a + b;'].map((text, i) => ({ commit: 'c', path: 'a.ts', line: i + 1, text }));
    expect(await scanner.scan(lines)).toEqual([]);
  });

  it('redacts the known values from an output line, synchronously, leaving the rest', () => {
    expect(scanner.redactKnown(`key=${KEY} and ${KEY}; short stays`)).toBe(`key=${REDACTED} and ${REDACTED}; short stays`);
  });

  it('redacts known values and secretlint findings from text to be stored', async () => {
    const text = `+  token: "${TOKEN}",\nkey=${KEY}\nnothing here`;
    const out = await scanner.redact(text);
    expect(out).toBe(`+  token: "${REDACTED}",\nkey=${REDACTED}\nnothing here`);
  });
});
