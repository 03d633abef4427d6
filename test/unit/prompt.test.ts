// The agent prompt: byte-identical for identical input (templates, task, repository context),
// different for a different attempt or feedback, feedback trimmed from the end within its budget,
// relevant files picked from the task's words and held to the byte budget.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromptTemplateError, renderPrompt, trimFeedback, type PromptInput, type PromptTemplates } from '../../src/project/index.js';
import { buildRepoContext, loadPromptTemplates } from '../../src/steps/index.js';
import type { Task } from '../../src/project/index.js';
import { gitWork, initCheckout } from '../support/git-remote.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const task: Task = {
  id: '2.1',
  phaseId: '2',
  title: 'Mount the events router in src/server.ts',
  dependencies: ['1.1', '1.2'],
  steps: [
    { id: '2.1.1', text: 'Add the route in `src/routes/events.ts`, following [the spec](docs/spec.md).', line: 3 },
    { id: '2.1.2', text: 'Register it where config.json is read; keep {{task.id}} literal.', line: 4 },
  ],
  criteria: [
    { index: 1, text: 'POST /events answers 202', source: 'PRD', line: 6 },
    { index: 2, text: 'The build passes', line: 7 },
  ],
  line: 2,
};

const dependencies = [
  { id: '1.1', title: 'Set up the build', commit: 'abc1234' },
  { id: '1.2', title: 'Add a smoke test', commit: null },
];

async function writeFiles(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

describe('prompt', () => {
  let parent: string;
  let repo: string;
  let templates: PromptTemplates;

  beforeAll(async () => {
    templates = await loadPromptTemplates();
    parent = await mkdtemp(join(tmpdir(), 'devteam-prompt-'));
    repo = await initCheckout(parent);
    const files: Record<string, string | Buffer> = {
      'README.md': '# Demo\n\nRun `npm test`.\n',
      'package.json': '{ "name": "demo", "scripts": { "test": "vitest" } }\n',
      'src/server.ts': 'export const server = 1;\n',
      'src/routes/events.ts': 'export const events = "```";\n',
      'config/config.json': '{ "port": 8080 }\n',
      'docs/spec.md': 'x'.repeat(40 * 1024),
      'assets/logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]),
      'ünïcode/ファイル.txt': 'unicode path\n',
    };
    for (let i = 0; i < 180; i++) files[`lib/module-${String(i).padStart(3, '0')}.ts`] = `export const m${i} = ${i};\n`;
    await writeFiles(repo, files);
    await gitWork(repo, 'add', '-A');
  });

  afterAll(async () => {
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  const build = async (over: Partial<PromptInput> = {}): Promise<string> => {
    const context = await buildRepoContext(repo, { task });
    return renderPrompt({ task, attempt: 1, feedback: null, dependencies, context, templates, ...over });
  };

  it('is byte-identical for identical input, repository context included', async () => {
    const first = await build();
    const second = await build({ templates: await loadPromptTemplates() });
    expect(sha256(second)).toBe(sha256(first));
    const retryA = await build({ attempt: 2, feedback: 'error TS2345: nope\n' });
    const retryB = await build({ attempt: 2, feedback: 'error TS2345: nope\n' });
    expect(sha256(retryA)).toBe(sha256(retryB));
  });

  it('changes with the attempt and with the feedback', async () => {
    const hashes = new Set([
      sha256(await build()),
      sha256(await build({ attempt: 2 })),
      sha256(await build({ attempt: 2, feedback: 'error A\n' })),
      sha256(await build({ attempt: 2, feedback: 'error B\n' })),
      sha256(await build({ attempt: 3, feedback: 'error B\n' })),
    ]);
    expect(hashes.size).toBe(5);
  });

  it('renders the task, its dependencies and the retry section from the templates', async () => {
    const first = await build();
    expect(first).toContain('# Task 2.1: Mount the events router in src/server.ts');
    expect(first).toContain('- 2.1.1 Add the route in `src/routes/events.ts`, following [the spec](docs/spec.md).');
    expect(first).toContain('1. POST /events answers 202 [source: PRD]');
    expect(first).toContain('- 1.1 Set up the build (commit abc1234)');
    expect(first).toContain('- 1.2 Add a smoke test\n');
    // Values are not expanded again: a placeholder inside the task text stays literal.
    expect(first).toContain('keep {{task.id}} literal');
    expect(first).not.toContain('<!--');
    expect(first).not.toMatch(/failed/);
    expect(first.endsWith('\n') && !first.endsWith('\n\n')).toBe(true);

    const retry = await build({ attempt: 3, feedback: 'src/server.ts(1,1): error TS1005\n' });
    expect(retry.startsWith(first.replace('This is attempt 1.', 'This is attempt 3.').trimEnd())).toBe(true);
    expect(retry).toContain('## Attempt 3: attempt 2 failed');
    expect(retry).toContain('```text\nsrc/server.ts(1,1): error TS1005\n```');
  });

  it('trims feedback from the end, at a line start, within the budget', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${String(i).padStart(4, '0')} ✓ some compiler output`);
    const output = `${lines.join('\n')}\n`;
    const budget = 4096;
    const { text, omittedBytes } = trimFeedback(output, budget);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(budget);
    expect(text).toMatch(/^… \d+ bytes omitted\n/);
    expect(text.endsWith('line 1999 ✓ some compiler output\n')).toBe(true);
    const [marker, ...kept] = text.split('\n');
    expect(kept[0]).toMatch(/^line \d{4} ✓ some compiler output$/);
    expect(marker).toBe(`… ${omittedBytes} bytes omitted`);
    expect(omittedBytes + Buffer.byteLength(kept.join('\n'))).toBe(Buffer.byteLength(output));

    // Short output is kept whole; colour codes and CRLF are dropped first.
    expect(trimFeedback('\x1b[31merror\x1b[0m\r\nok\n', budget)).toEqual({ text: 'error\nok\n', omittedBytes: 0 });
    // One huge line: cut at a character boundary, still within budget.
    const huge = trimFeedback('é'.repeat(10_000), 1001);
    expect(Buffer.byteLength(huge.text)).toBeLessThanOrEqual(1001);
    expect(huge.text).not.toContain('\uFFFD');

    // The default budget applies inside the prompt.
    const big = 'x'.repeat(100) + '\n';
    const prompt = renderPrompt({
      task,
      attempt: 2,
      feedback: big.repeat(1000),
      dependencies: [],
      context: { files: [], totalFiles: 0, relevant: [], skipped: [], budgetBytes: 0, usedBytes: 0 },
      templates,
    });
    expect(prompt).toMatch(/… \d+ bytes omitted/);
    expect(Buffer.byteLength(prompt)).toBeLessThan(14 * 1024);
  });

  it('includes the files the task names, then key files, whole and within the byte budget', async () => {
    const context = await buildRepoContext(repo, { task });
    expect(context.totalFiles).toBe(188);
    expect(context.files).toHaveLength(188);
    expect(context.files).toEqual([...context.files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(context.files).toContain('ünïcode/ファイル.txt');
    expect(context.relevant.map((f) => [f.path, f.reason])).toEqual([
      ['src/routes/events.ts', 'mentioned'],
      ['src/server.ts', 'mentioned'],
      ['config/config.json', 'basename'],
      ['README.md', 'key'],
      ['package.json', 'key'],
    ]);
    expect(context.skipped).toEqual([{ path: 'docs/spec.md', reason: 'too-large' }]);
    expect(context.usedBytes).toBeLessThanOrEqual(context.budgetBytes);

    // A small budget: whole files only, in order, the rest listed as skipped.
    const small = await buildRepoContext(repo, { task, budgetBytes: 60, maxFiles: 10 });
    expect(small.files).toHaveLength(10);
    expect(small.totalFiles).toBe(188);
    expect(small.usedBytes).toBeLessThanOrEqual(60);
    for (const f of small.relevant) expect(f.content.length).toBeGreaterThan(0);
    expect(small.relevant.map((f) => f.path)).toEqual(['src/routes/events.ts', 'src/server.ts']);
    expect(small.skipped.map((s) => s.reason)).toContain('over-budget');

    const prompt = renderPrompt({ task, attempt: 1, feedback: null, dependencies, context: small, templates });
    expect(prompt).toContain('The first 10 of 188 tracked files:');
    // The file holds a ``` run, so its fence is longer.
    expect(prompt).toContain('#### src/routes/events.ts\n\n````ts\nexport const events = "```";\n````');
    expect(prompt).toContain('- docs/spec.md (too large)');
  });

  it('skips binaries and never follows a symlink out of the checkout', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'devteam-secret-'));
    const linkedParent = await mkdtemp(join(tmpdir(), 'devteam-prompt-link-'));
    try {
      await writeFile(join(outside, 'secret.txt'), 'TOP SECRET\n');
      const linked = await initCheckout(linkedParent);
      await writeFiles(linked, { 'logo.png': Buffer.from([1, 0, 2]) });
      await symlink(join(outside, 'secret.txt'), join(linked, 'notes.txt'));
      await gitWork(linked, 'add', '-A');
      const context = await buildRepoContext(linked, {
        task: { title: 'Update notes.txt and logo.png', steps: [], criteria: [] },
      });
      expect(context.relevant).toEqual([]);
      expect(context.skipped).toEqual([
        { path: 'logo.png', reason: 'binary' },
        { path: 'notes.txt', reason: 'not-a-file' },
      ]);
    } finally {
      await rm(outside, { recursive: true, force: true });
      await rm(linkedParent, { recursive: true, force: true });
    }
  });

  it('refuses a template with an unknown placeholder when loading it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'devteam-templates-'));
    try {
      await writeFile(join(dir, 'implement.md'), '# {{task.id}} {{task.nope}}\n');
      await writeFile(join(dir, 'retry.md'), '{{feedback}}\n');
      const error = await loadPromptTemplates(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PromptTemplateError);
      expect(error).toMatchObject({ code: 'prompt_template_invalid' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
