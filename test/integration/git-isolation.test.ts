// The agent as an attacker of the runner's own git: from inside its sandbox it plants every hook
// and every repository-level config key that makes git run a program (fsmonitor, ssh command,
// filters with .gitattributes, textconv, pager, credential helper, editors, gpg, receive-pack,
// hooksPath, include.path) and redirects the push. The runner's commit, merge, checkout and push
// then run on the host: nothing planted may run there, and the push must reach the real remote.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentRemote } from '../support/agent-remote.js';
import { startEmbeddedRuntime, type EmbeddedRuntime } from '../support/embedded-runtime.js';
import { createRemote, git } from '../support/git-remote.js';
import { eventually } from '../support/services.js';

const HOOKS = [
  'applypatch-msg', 'pre-applypatch', 'post-applypatch', 'pre-commit', 'pre-merge-commit', 'prepare-commit-msg', 'commit-msg',
  'post-commit', 'pre-rebase', 'post-checkout', 'post-merge', 'pre-push', 'pre-receive', 'update', 'proc-receive', 'post-receive',
  'post-update', 'reference-transaction', 'push-to-checkout', 'pre-auto-gc', 'post-rewrite', 'sendemail-validate',
  'fsmonitor-watchman', 'post-index-change',
];

/** Keys whose value git runs as a program (or that make git run one), each set to the planted script. */
const PROGRAM_KEYS = [
  'core.fsmonitor', 'core.sshCommand', 'core.pager', 'core.editor', 'core.askPass', 'core.gitProxy', 'core.alternateRefsCommand',
  'sequence.editor', 'credential.helper', 'filter.evil.clean', 'filter.evil.smudge', 'filter.evil.process', 'diff.evil.textconv',
  'diff.evil.command', 'diff.external', 'merge.evil.driver', 'gpg.program', 'gpg.ssh.program', 'remote.origin.receivepack',
  'remote.origin.uploadpack', 'uploadpack.packObjectsHook', 'pager.log', 'pager.diff', 'pager.status',
];

/** The agent: a shell script run in the sandbox with the checkout as /workspace. */
function attackScript(hostCheckout: string, marks: string, decoy: string): string {
  const evil = (dir: string) => `${dir}/.git/evil.sh`;
  const lines = [
    'set -e',
    // A real repository where the runner's git would discover one, holding everything below.
    'git init --quiet .',
    'mkdir -p .git/hooks .git/evil-hooks',
    // The script records that it ran, and with which environment, on whatever side it runs.
    `printf '#!/bin/sh\\nmkdir -p ${marks}; env > ${marks}/ran-$$; cat >/dev/null 2>&1 || true; exit 0\\n' > .git/evil.sh`,
    'chmod +x .git/evil.sh',
    ...HOOKS.flatMap((h) => [`cp .git/evil.sh .git/hooks/${h}`, `cp .git/evil.sh .git/evil-hooks/${h}`]),
    ...PROGRAM_KEYS.map((key) => `git config -f .git/config ${key} ${evil(hostCheckout)}`),
    `git config -f .git/config core.hooksPath ${hostCheckout}/.git/evil-hooks`,
    'git config -f .git/config commit.gpgSign true',
    'git config -f .git/config merge.verifySignatures true',
    `git config -f .git/config remote.origin.pushurl ${decoy}`,
    `git config -f .git/config url.${decoy}.insteadOf file://`,
    `printf '[core]\\n\\tfsmonitor = ${evil(hostCheckout)}\\n' > .git/included`,
    `git config -f .git/config include.path ${hostCheckout}/.git/included`,
    // Attributes are content: they may be committed, but must name no driver the runner has.
    "printf '* filter=evil diff=evil merge=evil\\n' > .gitattributes",
    'echo planted >> work.txt',
  ];
  return lines.join('\n');
}

describe('git isolation', () => {
  let service: EmbeddedRuntime;
  const dir = { get path() { return service.dir; } };

  beforeAll(async () => {
    service = await startEmbeddedRuntime('devteam-gitiso');
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it('an agent that plants every hook and program-running config key runs nothing outside its sandbox', async () => {
    const remote = await createAgentRemote(dir.path, 'planted', [
      { id: '1.1', title: 'plant everything' },
      { id: '1.2', title: 'run again on the planted checkout', dependencies: ['1.1'] },
    ]);
    const decoy = await createRemote(dir.path, 'decoy');
    const marks = join(dir.path, 'marks');
    await mkdir(marks);
    const hostCheckout = join(dir.path, 'data', 'repos', 'local', 'planted', 'repo');
    // Too long for one argv entry: the attack ships in the repository, as a real one could.
    await writeFile(join(remote.work, 'attack.sh'), attackScript(hostCheckout, marks, decoy.bare));
    await git(remote.work, 'add', 'attack.sh');
    await git(remote.work, 'commit', '--quiet', '-m', 'the attack');
    await git(remote.work, 'push', '--quiet', 'origin', 'main');
    const body = {
      projectId: 'planted',
      repository: { url: `file://${remote.bare}`, branch: 'main' },
      agent: { preset: 'command', command: ['sh', 'attack.sh'], timeoutSec: 60 },
      verify: { commands: [['sh', '-c', 'test -f work.txt']], timeoutSec: 60 },
      limits: { cpus: 1, memoryMb: 512 },
    };
    const res = await service.initialize(body);
    expect(res.status, res.text).toBe(202);
    const final = await eventually(async () => {
      const s = (await (await fetch(service.url('/api/devteam/automation/status/planted'))).json()) as { status: string; lastError: string | null };
      // A planted program that ran is the verdict already (it may also have wedged the run).
      if ((await readdir(marks)).length > 0) return s;
      return ['completed', 'failed', 'stopped'].includes(s.status) ? s : undefined;
    }, 60_000, 'the planted run to end');

    // Nothing planted ran on the host (inside the sandbox the marks folder does not exist).
    const ran = await readdir(marks);
    const where = await Promise.all(ran.map(async (f) => (await readFile(join(marks, f), 'utf8')).match(/^PWD=.*$/m)?.[0] ?? f));
    expect(where).toEqual([]);
    expect(final).toMatchObject({ status: 'completed', lastError: null });
    // The push reached the real remote, not the decoy, and carries the agent's work but no .git.
    await git(remote.work, 'fetch', '--quiet', 'origin');
    expect(await git(remote.work, 'show', 'origin/main:work.txt')).toBe('planted\nplanted');
    const files = (await git(remote.work, 'ls-tree', '-r', '--name-only', 'origin/main')).split('\n');
    expect(files.filter((f) => f.split('/').includes('.git'))).toEqual([]);
    expect(await git(decoy.bare, 'for-each-ref')).toBe('');
    // The agent's .git is a plain folder of the work tree; the runner's git directory is elsewhere.
    expect(existsSync(join(hostCheckout, '.git', 'hooks', 'post-commit'))).toBe(true);
    const runnerConfig = await readFile(join(dir.path, 'data', 'repos', 'local', 'planted', 'git', 'config'), 'utf8');
    expect(runnerConfig).not.toContain('evil');
  }, 90_000);

  it("the runner's own files are written without following a symlink the agent planted in their place", async () => {
    const remote = await createAgentRemote(dir.path, 'symlinked', [
      { id: '1.1', title: 'plant a symlink' },
      { id: '1.2', title: 'have the runner write through it', dependencies: ['1.1'] },
    ]);
    const victim = join(dir.path, 'victim');
    await mkdir(join(victim, 'home'), { recursive: true });
    const script = [
      // Its own runner folder (prompts, HOME) becomes a link to a host folder, and so do the files in it.
      `mv .git/devteam .git/devteam-old && ln -s ${victim} .git/devteam`,
      `ln -s ${victim}/planted-config .git/devteam-old/home/.gitconfig 2>/dev/null || true`,
      'echo change >> work.txt',
    ].join('\n');
    const res = await service.initialize({
      projectId: 'symlinked',
      repository: { url: `file://${remote.bare}` },
      agent: { preset: 'command', command: ['sh', '-c', script], timeoutSec: 60 },
      verify: { commands: [['git', '--version']], timeoutSec: 60 },
    });
    expect(res.status, res.text).toBe(202);
    const final = await service.settled('symlinked');
    expect(final.status).toBe('completed');
    // Task 1.2's prompt went to the runner's folder, not through the link into the host folder.
    expect(await readdir(victim)).toEqual(['home']);
    expect(await readdir(join(victim, 'home'))).toEqual([]);
  }, 90_000);
});
