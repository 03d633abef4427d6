// The project the fault scenarios drive: a bare repository whose task list has N tasks, each done by
// a `command` agent that appends exactly one line (naming its task) to NOTES.md, and the oracle
// read from the remote afterwards: one commit per task, each adding exactly one line.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { taskListOf, type FixtureTask } from '../support/agent-remote.js';
import { createRemote, git, type TestRemote } from '../support/git-remote.js';

export interface NotesProject {
  remote: TestRemote;
  tasks: FixtureTask[];
  initial: string;
}

export async function createNotesProject(dir: string, name: string, count: number): Promise<NotesProject> {
  const remote = await createRemote(dir, name);
  const tasks: FixtureTask[] = Array.from({ length: count }, (_, i) => ({
    id: `1.${i + 1}`,
    title: `Append note ${i + 1}`,
    dependencies: i === 0 ? [] : [`1.${i}`],
  }));
  await writeFile(join(remote.work, 'NOTES.md'), '# Notes\n');
  await mkdir(join(remote.work, 'ai_docs', 'tasks'), { recursive: true });
  await writeFile(join(remote.work, 'ai_docs', 'tasks', 'task_list.md'), taskListOf(tasks));
  await git(remote.work, 'add', '-A');
  await git(remote.work, 'commit', '--quiet', '-m', 'notes project');
  await git(remote.work, 'push', '--quiet', 'origin', 'main');
  return { remote, tasks, initial: await git(remote.work, 'rev-parse', 'HEAD') };
}

/**
 * The agent: appends "note <task id> <ns clock>" to NOTES.md, then lingers `sleepSec`, so a crash
 * often lands after the change and before the step is recorded — the window in which an
 * IMPLEMENT run again on an unreset checkout would leave two lines.
 */
export function notesAgent(sleepSec: number): string[] {
  const script = String.raw`echo "note $(sed -n 's/^# Task \([^:]*\):.*/\1/p' "$1" | head -n 1) $(date +%s%N)" >> NOTES.md && sleep "$2"`;
  return ['sh', '-c', script, 'agent', '{promptFile}', String(sleepSec)];
}

export function notesBody(projectId: string, url: string, sleepSec: number): Record<string, unknown> {
  return {
    projectId,
    repository: { url, branch: 'main' },
    agent: { preset: 'command', command: notesAgent(sleepSec), timeoutSec: 60 },
    verify: { commands: [['git', '--version']], timeoutSec: 60 },
    limits: { cpus: 1, memoryMb: 512 },
  };
}

/** What the remote's main must hold: one commit per task after `initial`, each adding one line that names its task. */
export async function remoteProblems(project: NotesProject): Promise<{ problems: string[]; log: string[] }> {
  const bare = project.remote.bare;
  const problems: string[] = [];
  const log = (await git(bare, '--git-dir', bare, 'log', '--format=%H %s', `${project.initial}..main`)).split('\n').filter(Boolean).reverse();
  const subjects = log.map((l) => l.slice(41));
  for (const t of project.tasks) {
    const n = subjects.filter((s) => s.startsWith(`Task ${t.id}:`)).length;
    if (n !== 1) problems.push(`task ${t.id}: ${n} commits on main (expected exactly 1)`);
  }
  const strays = subjects.filter((s) => !project.tasks.some((t) => s.startsWith(`Task ${t.id}:`)));
  if (strays.length) problems.push(`commits on main that name no task: ${JSON.stringify(strays)}`);
  for (const line of log) {
    const [sha, ...rest] = line.split(' ');
    const subject = rest.join(' ');
    const taskId = /^Task (\S+):/.exec(subject)?.[1];
    const numstat = (await git(bare, '--git-dir', bare, 'show', '--numstat', '--format=', sha!)).split('\n').filter(Boolean);
    const diff = await git(bare, '--git-dir', bare, 'show', '--format=', '-U0', sha!);
    const added = diff.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++'));
    const removed = diff.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'));
    if (numstat.length !== 1 || !numstat[0]!.endsWith('\tNOTES.md') || added.length !== 1 || removed.length !== 0) {
      problems.push(`${subject} (${sha!.slice(0, 10)}): expected one added line in NOTES.md, got ${JSON.stringify(numstat)} added ${JSON.stringify(added)} removed ${JSON.stringify(removed)}`);
    } else if (taskId && !added[0]!.startsWith(`+note ${taskId} `)) {
      problems.push(`${subject} (${sha!.slice(0, 10)}): its line names another task: ${added[0]}`);
    }
  }
  const notes = await git(bare, '--git-dir', bare, 'show', 'main:NOTES.md').catch(() => '');
  const lines = notes.split('\n').filter((l) => l.startsWith('note '));
  if (lines.length !== project.tasks.length) problems.push(`NOTES.md on main has ${lines.length} note lines for ${project.tasks.length} tasks: ${JSON.stringify(lines)}`);
  return { problems, log: subjects };
}

/** GET status with a deadline; null when it does not answer 200. */
export async function readStatus(port: number, projectId: string, timeoutMs = 2_000): Promise<any | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/devteam/automation/status/${projectId}`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.status === 200 ? await res.json() : null;
  } catch {
    return null;
  }
}

/** The warnings and errors a process logged about `projectId` (or without a project), last `max`, for the report. */
export function warnings(lines: Array<Record<string, unknown>>, projectId: string, max = 8): string[] {
  return lines
    .filter((l) => typeof l.level === 'number' && (l.level as number) >= 40 && (l.projectId === undefined || l.projectId === projectId))
    .slice(-max)
    .map((l) => `${String(l.time).slice(11, 23)} ${l.msg}${l.step ? ` step=${l.step}` : ''}${l.err ? ` err=${String((l.err as { message?: string }).message ?? '').slice(0, 240)}` : ''}${l.reason ? ` reason=${String(l.reason).slice(0, 200)}` : ''}`);
}

const FINAL = new Set(['completed', 'failed', 'stopped']);

/** Polls the status until `until` holds or the run ends; returns the last status read. */
export async function waitForStatus(port: number, projectId: string, until: (s: any) => boolean, timeoutMs: number): Promise<any | null> {
  const end = Date.now() + timeoutMs;
  let last: any = null;
  while (Date.now() < end) {
    const s = await readStatus(port, projectId);
    if (s) last = s;
    if (s && (until(s) || FINAL.has(s.status))) return s;
    await new Promise((r) => setTimeout(r, 150));
  }
  return last;
}
