// A bare git remote holding the scripted-agent project (test/fixtures/agent-project) and a task
// list in the spec's format built from the given tasks.
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemote, git, type TestRemote } from './git-remote.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/agent-project');

export interface FixtureTask {
  id: string;
  title: string;
  dependencies?: string[];
}

export function taskListOf(tasks: FixtureTask[]): string {
  const lines = ['# Test task list', '', 'Provenance: test', '', 'Phase 1: Work (Dependencies: [])', ''];
  for (const t of tasks) {
    lines.push(`- ${t.id} ${t.title} (Dependencies: [${(t.dependencies ?? []).join(', ')}])`);
    lines.push(`  - ${t.id}.1 Do what the title says`);
    lines.push(`  - ${t.id}.2 Verify correctness of Task ${t.id} against acceptance criteria`);
    lines.push(`    • <criterion 1: node check.js passes [source: test]>`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

export async function createAgentRemote(dir: string, name: string, tasks: FixtureTask[]): Promise<TestRemote> {
  const remote = await createRemote(dir, name);
  await cp(FIXTURE, remote.work, { recursive: true });
  await mkdir(join(remote.work, 'ai_docs', 'tasks'), { recursive: true });
  await writeFile(join(remote.work, 'ai_docs', 'tasks', 'task_list.md'), taskListOf(tasks));
  await git(remote.work, 'add', '-A');
  await git(remote.work, 'commit', '--quiet', '-m', 'scripted agent project');
  await git(remote.work, 'push', '--quiet', 'origin', 'main');
  return remote;
}

/** The initialize body for such a remote: the scripted agent as a `command`, `node check.js` as verify. */
export function agentProjectBody(projectId: string, url: string): Record<string, unknown> {
  return {
    projectId,
    repository: { url, branch: 'main' },
    agent: { preset: 'command', command: ['node', 'agent.js', '{promptFile}'], timeoutSec: 60 },
    verify: { commands: [['node', 'check.js']], timeoutSec: 60 },
    limits: { cpus: 1, memoryMb: 512 },
  };
}
